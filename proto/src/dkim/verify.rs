//! Verification of every DKIM-Signature of a message (RFC 6376 6), as a
//! DNS [`Evaluate`]r.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::canon::{BodyHash, Canon, body_hash, canonical_header_relaxed};
use super::header::{HeaderField, MessageError, select_headers, split_message};
use super::record::KeyRecord;
use super::signature::{Algorithm, HashAlgorithm, Signature};
use super::tags::parse_tags;
use super::{DkimError, Status};
use crate::dns::{Evaluate, Lookup, LookupId, Poll, Query, RecordType};

/// Signatures evaluated per message; later ones are neutral, unevaluated.
pub const MAX_SIGNATURES: usize = 16;
/// How long the verifier waits for key records after its first poll.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The outcome of one DKIM-Signature header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigResult {
    pub status: Status,
    /// Why the status is not pass; `None` for pass.
    pub error: Option<DkimError>,
    /// The parsed signature, when it parsed.
    pub signature: Option<Signature>,
    /// The key record used, when one was found and parsed.
    pub record: Option<KeyRecord>,
    /// The TXT record text found (also when it did not parse).
    pub record_text: Option<String>,
    /// The header field as in the message (lossy UTF-8, without line end).
    pub header: String,
}

impl SigResult {
    /// The reason in words: the error, or "signature verified".
    pub fn reason(&self) -> String {
        match &self.error {
            Some(e) => e.to_string(),
            None => "signature verified".into(),
        }
    }

    fn failed(header: String, signature: Option<Signature>, error: DkimError) -> SigResult {
        SigResult {
            status: error.status(),
            error: Some(error),
            signature,
            record: None,
            record_text: None,
            header,
        }
    }
}

/// The results of all signatures of a message, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub results: Vec<SigResult>,
    /// Set when the header section could not be parsed; `results` is empty.
    pub message_error: Option<MessageError>,
}

impl Verification {
    /// One status for the message: none without signatures, pass when any
    /// signature passed, else the first of fail, policy, temperror,
    /// permerror, neutral that occurs.
    pub fn status(&self) -> Status {
        if self.message_error.is_some() {
            return Status::PermError;
        }
        if self.results.is_empty() {
            return Status::None;
        }
        let order = [
            Status::Pass,
            Status::Fail,
            Status::Policy,
            Status::TempError,
            Status::PermError,
        ];
        order
            .into_iter()
            .find(|s| self.results.iter().any(|r| r.status == *s))
            .unwrap_or(Status::Neutral)
    }
}

enum SigState {
    Done(Box<SigResult>),
    /// Waiting for the key record, lookup number `query`.
    Waiting {
        field: usize,
        sig: Box<Signature>,
        query: usize,
    },
}

/// Verifies all DKIM-Signature fields of a message.
///
/// Contract: as [`Evaluate`]. All key lookups are asked for at once (one
/// per distinct name); the result comes when every lookup is answered or
/// at the deadline ([`DEFAULT_TIMEOUT`] after the first poll), when
/// unanswered lookups become temperror. The body is hashed once per
/// distinct (canonicalisation, hash, `l=`) of the signatures.
pub struct Verifier<'a> {
    fields: Vec<HeaderField<'a>>,
    body: &'a [u8],
    message_error: Option<MessageError>,
    sigs: Vec<SigState>,
    /// Distinct key queries and their answers.
    queries: Vec<(Query, Option<Lookup>)>,
    next_query: usize,
    timeout: Duration,
    deadline: Option<Instant>,
    result: Option<Verification>,
}

impl<'a> Verifier<'a> {
    /// A verifier of `message` (header and body as stored, CRLF lines) at
    /// `unix_now` seconds since 1970 (for `x=`).
    pub fn new(message: &'a [u8], unix_now: u64) -> Verifier<'a> {
        let mut v = Verifier {
            fields: Vec::new(),
            body: &[],
            message_error: None,
            sigs: Vec::new(),
            queries: Vec::new(),
            next_query: 0,
            timeout: DEFAULT_TIMEOUT,
            deadline: None,
            result: None,
        };
        match split_message(message) {
            Ok((fields, body)) => {
                v.fields = fields;
                v.body = body;
            }
            Err(e) => {
                v.message_error = Some(e);
                return v;
            }
        }
        let sig_fields: Vec<usize> = (0..v.fields.len())
            .filter(|&i| v.fields.get(i).is_some_and(|f| f.is("DKIM-Signature")))
            .collect();
        for (n, i) in sig_fields.into_iter().enumerate() {
            let Some(field) = v.fields.get(i) else {
                continue;
            };
            let header = String::from_utf8_lossy(field.without_line_end()).into_owned();
            if n >= MAX_SIGNATURES {
                let r = SigResult::failed(header, None, DkimError::TooManySignatures);
                v.sigs.push(SigState::Done(Box::new(r)));
                continue;
            }
            let sig = match Signature::parse(field.value) {
                Ok(s) => s,
                Err(e) => {
                    v.sigs
                        .push(SigState::Done(Box::new(SigResult::failed(header, None, e))));
                    continue;
                }
            };
            if let Some(x) = sig.expiration
                && x < unix_now
            {
                let e = DkimError::Expired {
                    expires: x,
                    now: unix_now,
                };
                v.sigs.push(SigState::Done(Box::new(SigResult::failed(
                    header,
                    Some(sig),
                    e,
                ))));
                continue;
            }
            let q = Query::new(sig.key_name(), RecordType::Txt);
            let query = match v.queries.iter().position(|(k, _)| *k == q) {
                Some(p) => p,
                None => {
                    v.queries.push((q, None));
                    v.queries.len() - 1
                }
            };
            v.sigs.push(SigState::Waiting {
                field: i,
                sig: Box::new(sig),
                query,
            });
        }
        v
    }

    /// Sets how long to wait for key records (from the first poll).
    pub fn with_timeout(mut self, timeout: Duration) -> Verifier<'a> {
        self.timeout = timeout;
        self
    }

    fn finish(&mut self) -> Verification {
        let mut hashes: HashMap<(Canon, HashAlgorithm, Option<u64>), BodyHash> = HashMap::new();
        let states = std::mem::take(&mut self.sigs);
        let mut results = Vec::with_capacity(states.len());
        for state in states {
            let r = match state {
                SigState::Done(r) => *r,
                SigState::Waiting { field, sig, query } => {
                    let answer = self.queries.get(query).and_then(|(_, a)| a.as_ref());
                    self.evaluate(field, *sig, answer, &mut hashes)
                }
            };
            results.push(r);
        }
        Verification {
            results,
            message_error: self.message_error.clone(),
        }
    }

    /// The result of one signature given its key lookup's answer.
    fn evaluate(
        &self,
        field_index: usize,
        sig: Signature,
        answer: Option<&Lookup>,
        hashes: &mut HashMap<(Canon, HashAlgorithm, Option<u64>), BodyHash>,
    ) -> SigResult {
        let Some(field) = self.fields.get(field_index) else {
            return SigResult::failed(String::new(), Some(sig), DkimError::SignatureMismatch);
        };
        let header = String::from_utf8_lossy(field.without_line_end()).into_owned();
        let name = sig.key_name();
        let records = match answer {
            None => return SigResult::failed(header, Some(sig), DkimError::Timeout(name)),
            Some(Lookup::Failed(f)) => {
                let e = DkimError::Dns {
                    name,
                    failure: f.clone(),
                };
                return SigResult::failed(header, Some(sig), e);
            }
            Some(Lookup::NxDomain { .. } | Lookup::NoData { .. }) => {
                return SigResult::failed(header, Some(sig), DkimError::NoKeyRecord(name));
            }
            Some(Lookup::Records(r)) => r,
        };
        // RFC 6376 3.6.2.2: several records may be returned; use the first
        // that parses.
        let txts: Vec<Vec<u8>> = records.data.iter().filter_map(|d| d.txt_joined()).collect();
        let mut first_err = None;
        let mut found = None;
        for txt in &txts {
            match KeyRecord::parse(txt) {
                Ok(rec) => {
                    found = Some((rec, txt));
                    break;
                }
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some((e.at_record(&name), txt));
                    }
                }
            }
        }
        let Some((record, txt)) = found else {
            let (e, txt) = match first_err {
                Some((e, t)) => (e, Some(String::from_utf8_lossy(t).into_owned())),
                None => (DkimError::NoKeyRecord(name), None),
            };
            let mut r = SigResult::failed(header, Some(sig), e);
            r.record_text = txt;
            return r;
        };
        let record_text = Some(String::from_utf8_lossy(txt).into_owned());
        let outcome = self.check(field, &sig, &record, hashes);
        let (status, error) = match outcome {
            Ok(()) if sig.algorithm == Algorithm::RsaSha1 => {
                (Status::Policy, Some(DkimError::Sha1NotTrusted))
            }
            Ok(()) => (Status::Pass, None),
            Err(e) => (e.status(), Some(e)),
        };
        SigResult {
            status,
            error,
            signature: Some(sig),
            record: Some(record),
            record_text,
            header,
        }
    }

    /// Key record checks, body hash, signature (RFC 6376 6.1.2, 6.1.3).
    fn check(
        &self,
        field: &HeaderField<'_>,
        sig: &Signature,
        record: &KeyRecord,
        hashes: &mut HashMap<(Canon, HashAlgorithm, Option<u64>), BodyHash>,
    ) -> Result<(), DkimError> {
        let name = sig.key_name();
        let Some(key) = &record.public_key else {
            return Err(DkimError::KeyRevoked(name));
        };
        if record.key_type.as_str() != sig.algorithm.key_type() {
            return Err(DkimError::KeyTypeMismatch {
                record: record.key_type.as_str().into(),
                signature: sig.algorithm.as_str().into(),
            });
        }
        let hash = sig.algorithm.hash();
        if !record.allows(hash) {
            return Err(DkimError::HashNotAllowed {
                allowed: record.hashes_text.clone().unwrap_or_default(),
                hash: hash.as_str().into(),
            });
        }
        if !record.for_email {
            return Err(DkimError::ServiceNotEmail(
                record.services_text.clone().unwrap_or_default(),
            ));
        }
        if record.strict && sig.identity_domain() != sig.domain {
            return Err(DkimError::StrictSubdomain {
                identity: sig.identity.clone(),
                domain: sig.domain.clone(),
            });
        }
        let key_id = (sig.body_canon, hash, sig.length);
        let bh = hashes
            .entry(key_id)
            .or_insert_with(|| body_hash(self.body, sig.body_canon, hash, sig.length));
        if let Some(l) = sig.length
            && l > bh.canonical_len
        {
            return Err(DkimError::BodyLengthTooLong {
                length: l,
                body: bh.canonical_len,
            });
        }
        if bh.digest != sig.body_hash {
            return Err(DkimError::BodyHashMismatch);
        }
        let data = signed_data(&self.fields, field, &sig.signed_headers, sig.header_canon)?;
        if !key.verify(sig.algorithm, &data, &sig.signature) {
            return Err(DkimError::SignatureMismatch);
        }
        Ok(())
    }
}

/// The data a signature covers (RFC 6376 3.7): the fields `names` selects,
/// canonicalised, then the DKIM-Signature field itself with the `b=` value
/// deleted and without its final CRLF. The signer uses it too, so both
/// sides share one definition.
pub(super) fn signed_data(
    fields: &[HeaderField<'_>],
    field: &HeaderField<'_>,
    names: &[String],
    canon: Canon,
) -> Result<Vec<u8>, DkimError> {
    let own = fields.iter().position(|f| std::ptr::eq(f, field));
    let mut data = Vec::with_capacity(1024);
    for f in select_headers(fields, names, own) {
        match canon {
            Canon::Simple => data.extend_from_slice(f.raw),
            Canon::Relaxed => canonical_header_relaxed(f.raw, true, &mut data),
        }
    }
    let raw = field.without_line_end();
    let value_offset = raw.len().saturating_sub(field.value.len());
    let tags = parse_tags(field.value)?;
    let b = tags
        .iter()
        .find(|t| t.name == "b")
        .ok_or(DkimError::MissingTag("b"))?;
    let mut stripped = Vec::with_capacity(raw.len());
    stripped.extend_from_slice(raw.get(..value_offset + b.after_equals).unwrap_or_default());
    stripped.extend_from_slice(
        raw.get(value_offset + b.value_range.end..)
            .unwrap_or_default(),
    );
    match canon {
        Canon::Simple => data.extend_from_slice(&stripped),
        Canon::Relaxed => canonical_header_relaxed(&stripped, false, &mut data),
    }
    Ok(data)
}

impl Evaluate for Verifier<'_> {
    type Output = Verification;

    fn poll(&mut self, now: Instant) -> Poll<Verification> {
        if let Some(r) = &self.result {
            return Poll::Ready(r.clone());
        }
        let deadline = *self
            .deadline
            .get_or_insert(now.checked_add(self.timeout).unwrap_or(now));
        if let Some((q, _)) = self.queries.get(self.next_query) {
            let id = LookupId(u32::try_from(self.next_query).unwrap_or(u32::MAX));
            self.next_query += 1;
            return Poll::Lookup(id, q.clone());
        }
        if self.queries.iter().all(|(_, a)| a.is_some()) || now >= deadline {
            let r = self.finish();
            self.result = Some(r.clone());
            return Poll::Ready(r);
        }
        Poll::Pending
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        if self.result.is_some() {
            return;
        }
        let Ok(i) = usize::try_from(id.0) else {
            return;
        };
        if i >= self.next_query {
            return;
        }
        if let Some((_, slot @ None)) = self.queries.get_mut(i) {
            *slot = Some(answer);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.result.is_some() {
            return None;
        }
        self.deadline
    }
}
