//! The IMAP ENVELOPE (RFC 9051 7.5.2) of a parsed message: the conversion
//! to the response type and its encoding, computed once when a message is
//! stored so that `FETCH ENVELOPE` need not decode the MIME structure.

use super::address::Address;
use super::envelope::Envelope;
use crate::imap::core::Ctx;
use crate::imap::resp;

fn address(a: &Address) -> resp::Address {
    resp::Address {
        name: a.name.clone(),
        adl: a.adl.clone(),
        mailbox: a.mailbox.clone(),
        host: a.host.clone(),
    }
}

fn addresses(list: &[Address]) -> Vec<resp::Address> {
    list.iter().map(address).collect()
}

impl Envelope {
    /// The ENVELOPE response value: Sender and Reply-To default to From
    /// (RFC 9051 7.5.2).
    pub fn to_imap(&self) -> resp::Envelope {
        resp::Envelope {
            date: self.date.clone(),
            subject: self.subject.clone(),
            from: addresses(&self.from),
            sender: addresses(self.sender_or_from()),
            reply_to: addresses(self.reply_to_or_from()),
            to: addresses(&self.to),
            cc: addresses(&self.cc),
            bcc: addresses(&self.bcc),
            in_reply_to: self.in_reply_to.clone(),
            message_id: self.message_id.clone(),
        }
    }

    /// The ENVELOPE as a server writes it in a FETCH response, `(date
    /// subject …)`: with `utf8` (IMAP4rev2 or UTF8=ACCEPT enabled) UTF-8
    /// strings are quoted, else 8-bit strings are literals (RFC 6855 4).
    pub fn encode_imap(&self, utf8: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.to_imap().encode(
            &mut out,
            Ctx {
                utf8,
                literal_plus: false,
            },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::MessageStructure;

    #[test]
    fn encoded_envelope() {
        let msg = b"Date: Tue, 02 Jan 2024 10:00:00 +0000\r\nFrom: \"A \\\"B\\\"\" <a@example.org>\r\nTo: group: x@y.example;\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\n";
        let st = MessageStructure::parse(msg);
        let want = "(\"Tue, 02 Jan 2024 10:00:00 +0000\" \"hi\" ((\"A \\\"B\\\"\" NIL \"a\" \"example.org\")) ((\"A \\\"B\\\"\" NIL \"a\" \"example.org\")) ((\"A \\\"B\\\"\" NIL \"a\" \"example.org\")) ((NIL NIL \"group\" NIL)(NIL NIL \"x\" \"y.example\")(NIL NIL NIL NIL)) NIL NIL NIL \"<1@example.org>\")";
        assert_eq!(
            String::from_utf8_lossy(&st.envelope().encode_imap(false)),
            want
        );
        assert_eq!(
            String::from_utf8_lossy(&st.envelope().encode_imap(true)),
            want
        );
    }

    #[test]
    fn eight_bit_subject_is_a_literal_without_utf8() {
        let msg = "Subject: caf\u{e9}\r\n\r\n".as_bytes();
        let st = MessageStructure::parse(msg);
        assert_eq!(
            st.envelope().encode_imap(false),
            b"(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec()
        );
        assert_eq!(
            st.envelope().encode_imap(true),
            "(NIL \"caf\u{e9}\" NIL NIL NIL NIL NIL NIL NIL NIL)"
                .as_bytes()
                .to_vec()
        );
    }
}
