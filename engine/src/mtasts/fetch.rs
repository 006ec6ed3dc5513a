//! The policy fetch (RFC 8461 3.3): the HTTPS request to make and what a
//! response must look like to yield a policy. Failures are classified as
//! the TLSRPT result types of RFC 8460 4.3.2.2.

use std::fmt;
use std::time::Duration;

use moxide_proto::conn::{HttpsError, HttpsErrorKind, HttpsRequest, HttpsResponse};
use moxide_proto::mtasts::{MAX_POLICY_SIZE, Policy, parse_policy, policy_url};

/// How long a policy fetch may take in all (RFC 8461 3.3 asks for a
/// timeout; mox uses one minute too).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The media type a policy must be served with (RFC 8461 3.2: senders
/// SHOULD check it, so that a user-uploaded file of another type on the
/// same web server cannot pose as the policy).
pub const POLICY_MEDIA_TYPE: &str = "text/plain";

/// The request that fetches `domain`'s policy.
pub fn policy_request(domain: &str) -> HttpsRequest {
    HttpsRequest {
        url: policy_url(domain),
        max_body: MAX_POLICY_SIZE,
        timeout: FETCH_TIMEOUT,
    }
}

/// The TLSRPT result type of a failed fetch (RFC 8460 4.3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFailureKind {
    /// `sts-policy-fetch-error`: no policy could be retrieved (DNS,
    /// connection, HTTP status, timeout).
    FetchError,
    /// `sts-policy-invalid`: a response came but is not a valid policy
    /// (media type, size, syntax).
    PolicyInvalid,
    /// `sts-webpki-invalid`: the policy host's certificate is not valid
    /// for `mta-sts.<domain>` (PKIX).
    WebpkiInvalid,
}

impl FetchFailureKind {
    /// The result type as written in a TLSRPT report.
    pub fn result_type(self) -> &'static str {
        match self {
            FetchFailureKind::FetchError => "sts-policy-fetch-error",
            FetchFailureKind::PolicyInvalid => "sts-policy-invalid",
            FetchFailureKind::WebpkiInvalid => "sts-webpki-invalid",
        }
    }
}

/// Why a fetch gave no policy, for TLSRPT and the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    pub kind: FetchFailureKind,
    /// What went wrong, e.g. `HTTP status 404, 200 is required`.
    pub detail: String,
}

impl FetchFailure {
    fn new(kind: FetchFailureKind, detail: impl Into<String>) -> FetchFailure {
        FetchFailure {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.result_type(), self.detail)
    }
}

/// The policy in a fetch's outcome: status 200 (RFC 8461 3.3: only 200;
/// a 3xx is not followed), media type `text/plain` (parameters such as
/// charset ignored, RFC 8461 3.2), at most [`MAX_POLICY_SIZE`] bytes and
/// valid policy syntax.
pub fn policy_from_response(
    outcome: &Result<HttpsResponse, HttpsError>,
) -> Result<Policy, FetchFailure> {
    let resp = match outcome {
        Ok(r) => r,
        Err(e) => {
            let kind = match e.kind {
                HttpsErrorKind::Certificate => FetchFailureKind::WebpkiInvalid,
                HttpsErrorKind::TooLarge => FetchFailureKind::PolicyInvalid,
                _ => FetchFailureKind::FetchError,
            };
            return Err(FetchFailure::new(kind, e.detail.clone()));
        }
    };
    if resp.status != 200 {
        let why = match resp.status {
            // RFC 8461 3.3: HTTP 3xx redirects MUST NOT be followed.
            300..=399 => ", redirects are not followed (RFC 8461 3.3)",
            _ => "",
        };
        return Err(FetchFailure::new(
            FetchFailureKind::FetchError,
            format!("HTTP status {}, 200 is required{why}", resp.status),
        ));
    }
    check_media_type(resp.content_type.as_deref())?;
    if resp.body.len() > MAX_POLICY_SIZE {
        return Err(FetchFailure::new(
            FetchFailureKind::PolicyInvalid,
            format!(
                "policy of {} bytes, at most {MAX_POLICY_SIZE} allowed",
                resp.body.len()
            ),
        ));
    }
    parse_policy(&resp.body)
        .map_err(|e| FetchFailure::new(FetchFailureKind::PolicyInvalid, e.to_string()))
}

/// `text/plain`, in any case, with any parameters.
fn check_media_type(content_type: Option<&str>) -> Result<(), FetchFailure> {
    let Some(ct) = content_type else {
        return Err(FetchFailure::new(
            FetchFailureKind::PolicyInvalid,
            format!("no Content-Type, {POLICY_MEDIA_TYPE} is required (RFC 8461 3.2)"),
        ));
    };
    let media = ct.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case(POLICY_MEDIA_TYPE) {
        return Ok(());
    }
    Err(FetchFailure::new(
        FetchFailureKind::PolicyInvalid,
        format!("Content-Type {ct:?}, {POLICY_MEDIA_TYPE} is required (RFC 8461 3.2)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::mtasts::Mode;

    fn resp(status: u16, ct: Option<&str>, body: &[u8]) -> Result<HttpsResponse, HttpsError> {
        Ok(HttpsResponse {
            status,
            content_type: ct.map(str::to_string),
            body: body.to_vec(),
        })
    }

    const POLICY: &[u8] =
        b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 86400\r\n";

    #[test]
    fn request_for_a_domain() {
        assert_eq!(
            policy_request("Example.COM."),
            HttpsRequest {
                url: "https://mta-sts.example.com/.well-known/mta-sts.txt".into(),
                max_body: 65536,
                timeout: Duration::from_secs(60),
            }
        );
    }

    #[test]
    fn accepts_text_plain_with_parameters() {
        for ct in [
            "text/plain",
            "Text/Plain; charset=utf-8",
            " text/plain ;x=y",
        ] {
            let p = policy_from_response(&resp(200, Some(ct), POLICY)).unwrap();
            assert_eq!((p.mode, p.max_age), (Mode::Enforce, 86400));
        }
    }

    #[test]
    fn refuses_and_classifies() {
        let fail = |o: Result<HttpsResponse, HttpsError>| policy_from_response(&o).unwrap_err();
        assert_eq!(
            fail(resp(301, Some("text/html"), b"moved")),
            FetchFailure::new(
                FetchFailureKind::FetchError,
                "HTTP status 301, 200 is required, redirects are not followed (RFC 8461 3.3)"
            )
        );
        assert_eq!(
            fail(resp(404, Some("text/plain"), POLICY)).to_string(),
            "sts-policy-fetch-error: HTTP status 404, 200 is required"
        );
        assert_eq!(
            fail(resp(200, Some("text/html"), POLICY)),
            FetchFailure::new(
                FetchFailureKind::PolicyInvalid,
                "Content-Type \"text/html\", text/plain is required (RFC 8461 3.2)"
            )
        );
        assert_eq!(
            fail(resp(200, None, POLICY)).detail,
            "no Content-Type, text/plain is required (RFC 8461 3.2)"
        );
        assert_eq!(
            fail(resp(200, Some("text/plain"), &vec![b'a'; 65537])),
            FetchFailure::new(
                FetchFailureKind::PolicyInvalid,
                "policy of 65537 bytes, at most 65536 allowed"
            )
        );
        assert_eq!(
            fail(resp(
                200,
                Some("text/plain"),
                b"version: STSv1\nmode: enforce\n"
            )),
            FetchFailure::new(
                FetchFailureKind::PolicyInvalid,
                "invalid MTA-STS policy: max_age is missing"
            )
        );
        let err = |kind, detail: &str| Err(HttpsError::new(kind, detail));
        let f = fail(err(
            HttpsErrorKind::Certificate,
            "certificate not valid for name",
        ));
        assert_eq!(
            (f.kind.result_type(), f.detail.as_str()),
            ("sts-webpki-invalid", "certificate not valid for name")
        );
        assert_eq!(
            fail(err(HttpsErrorKind::TooLarge, "body over 65536 bytes")).kind,
            FetchFailureKind::PolicyInvalid
        );
        for kind in [
            HttpsErrorKind::Dns,
            HttpsErrorKind::Connect,
            HttpsErrorKind::Tls,
            HttpsErrorKind::Http,
            HttpsErrorKind::Timeout,
            HttpsErrorKind::Url,
        ] {
            assert_eq!(fail(err(kind, "x")).kind, FetchFailureKind::FetchError);
        }
    }
}
