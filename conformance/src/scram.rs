//! The client side of SCRAM (RFC 5802 3) for `{{scram-final}}` and of
//! CRAM-MD5 (RFC 2195) for `{{cram-md5 USER}}`: the salt is random per
//! account and the CRAM-MD5 challenge holds the time, so the responses are
//! computed at run time from the server's challenge.

use base64::Engine as _;
use moxide_proto::sasl::secrets::{CramMd5Keys, ScramHash};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What the client sent first: the hash of the mechanism and the
/// client-first-message-bare (`n=user,r=nonce`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    pub hash: ScramHash,
    /// The gs2 header (`n,,`, `y,,` or `p=tls-exporter,,`).
    pub gs2: String,
    pub bare: String,
}

/// Finds a SCRAM start in a client line: `AUTHENTICATE SCRAM-SHA-…` with
/// its initial response, or a base64 line holding `n,,n=…`.
pub fn observe(line: &[u8], current: Option<&ClientFirst>) -> Option<ClientFirst> {
    let text = String::from_utf8_lossy(line);
    let upper = text.to_ascii_uppercase();
    let hash = if upper.contains("AUTHENTICATE SCRAM-SHA-256") {
        Some(ScramHash::Sha256)
    } else if upper.contains("AUTHENTICATE SCRAM-SHA-1") {
        Some(ScramHash::Sha1)
    } else {
        None
    };
    let hash = hash.or(current.map(|c| c.hash))?;
    for word in text.split_whitespace() {
        let Ok(raw) = B64.decode(word) else { continue };
        let Ok(msg) = String::from_utf8(raw) else {
            continue;
        };
        // gs2-header ("n,,", "y,," or "p=tls-exporter,,"), then
        // client-first-message-bare.
        for gs2 in ["n,,", "y,,", "p=tls-exporter,,"] {
            if let Some(bare) = msg.strip_prefix(gs2) {
                return Some(ClientFirst {
                    hash,
                    gs2: gs2.to_string(),
                    bare: bare.to_string(),
                });
            }
        }
    }
    // The mechanism alone (initial response on the next line).
    Some(ClientFirst {
        hash,
        gs2: current.map(|c| c.gs2.clone()).unwrap_or_default(),
        bare: current.map(|c| c.bare.clone()).unwrap_or_default(),
    })
}

/// The base64 client-final-message for the base64 `server_first` (the
/// text after `+ `), or why it cannot be made. `channel_binding` is the
/// connection's tls-exporter value (RFC 9266), needed for `p=`.
pub fn client_final(
    first: &ClientFirst,
    server_first_b64: &str,
    password: &str,
    channel_binding: Option<&[u8]>,
) -> Result<String, String> {
    let sf = B64
        .decode(server_first_b64.trim())
        .map_err(|e| format!("server-first is not base64: {e}"))?;
    let sf = String::from_utf8(sf).map_err(|_| "server-first is not UTF-8".to_string())?;
    let attr = |k: &str| {
        sf.split(',')
            .find_map(|a| a.strip_prefix(k))
            .ok_or(format!("server-first {sf:?} has no {k}"))
    };
    let nonce = attr("r=")?;
    let salt = B64
        .decode(attr("s=")?)
        .map_err(|e| format!("salt is not base64: {e}"))?;
    let iterations: u32 = attr("i=")?
        .parse()
        .map_err(|_| "iteration count is not a number".to_string())?;
    let h = first.hash;
    let salted = h.salted_password(password.as_bytes(), &salt, iterations);
    let client_key = h.hmac(&salted, b"Client Key");
    let stored_key = h.hash(&client_key);
    // c= is base64(gs2 header + channel binding data), RFC 5802 7.
    let mut cbind = first.gs2.as_bytes().to_vec();
    if first.gs2.starts_with("p=") {
        cbind.extend_from_slice(
            channel_binding.ok_or("channel binding without a TLS exporter value")?,
        );
    }
    let without_proof = format!("c={},r={nonce}", B64.encode(cbind));
    let auth_message = format!("{},{sf},{without_proof}", first.bare);
    let signature = h.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let msg = format!("{without_proof},p={}", B64.encode(proof));
    Ok(B64.encode(msg))
}

/// The base64 CRAM-MD5 response (RFC 2195 2): `user SP hex(HMAC-MD5(
/// password, challenge))`, for the base64 `challenge_b64`.
pub fn cram_md5(user: &str, challenge_b64: &str, password: &str) -> Result<String, String> {
    let challenge = B64
        .decode(challenge_b64.trim())
        .map_err(|e| format!("CRAM-MD5 challenge is not base64: {e}"))?;
    let digest = CramMd5Keys::derive(password).hmac(&challenge);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(B64.encode(format!("{user} {hex}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 3: the SCRAM-SHA-256 example exchange.
    #[test]
    fn rfc7677_example() {
        let first = observe(
            format!(
                "a AUTHENTICATE SCRAM-SHA-256 {}",
                B64.encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            )
            .as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(first.bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
        let sf = B64.encode(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        );
        let cf = B64
            .decode(client_final(&first, &sf, "pencil", None).unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(cf).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
    }

    /// RFC 2195 2: the example exchange.
    #[test]
    fn rfc2195_example() {
        let challenge = B64.encode("<1896.697170952@postoffice.reston.mci.net>");
        let r = B64
            .decode(cram_md5("tim", &challenge, "tanstaaftanstaaf").unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
