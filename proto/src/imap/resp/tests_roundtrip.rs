//! Property tests: encode → parse is the identity for every response, every
//! proper prefix of an encoding is Incomplete (the streaming contract), and
//! no input makes the parser panic.

use proptest::prelude::*;

use super::strategy;
use super::*;

fn check_round_trip(r: &Response, ctx: Ctx) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    r.encode(&mut out, ctx);
    let parsed = parse_response(&out, ctx);
    prop_assert_eq!(
        parsed,
        Ok((out.len(), r.clone())),
        "wire: {:?}",
        String::from_utf8_lossy(&out)
    );
    // Followed by another response, it takes only its own bytes.
    let mut two = out.clone();
    two.extend_from_slice(b"* 1 EXISTS\r\n");
    prop_assert_eq!(parse_response(&two, ctx).map(|(n, _)| n), Ok(out.len()));
    for n in 0..out.len() {
        let prefix = &out[..n];
        prop_assert_eq!(
            parse_response(prefix, ctx),
            Err(ResponseError::Incomplete),
            "prefix {:?} of {:?}",
            String::from_utf8_lossy(prefix),
            String::from_utf8_lossy(&out)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_rev1(r in strategy::response()) {
        check_round_trip(&r, Ctx::REV1)?;
    }

    #[test]
    fn round_trip_utf8(r in strategy::response()) {
        check_round_trip(&r, Ctx::UTF8)?;
    }

    #[test]
    fn round_trip_fetch(seq in 1u32.., items in proptest::collection::vec(strategy::fetch_item(), 1..6)) {
        let r = Response::Data(Data::Fetch { seq, items });
        check_round_trip(&r, Ctx::REV1)?;
        check_round_trip(&r, Ctx::UTF8)?;
    }

    #[test]
    fn round_trip_status(s in strategy::status()) {
        check_round_trip(&Response::Status(s), Ctx::REV1)?;
    }

    #[test]
    fn literal_plus_is_never_written(r in strategy::response()) {
        let lp = Ctx { utf8: false, literal_plus: true };
        let mut a = Vec::new();
        r.encode(&mut a, lp);
        let mut b = Vec::new();
        r.encode(&mut b, Ctx::REV1);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_response(&bytes, Ctx::REV1);
        let _ = parse_response(&bytes, Ctx::UTF8);
    }

    #[test]
    fn mutated_responses_never_panic(
        r in strategy::response(),
        pos in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        if !out.is_empty() {
            let p = pos % out.len();
            out[p] = byte;
            let _ = parse_response(&out, Ctx::REV1);
            out.truncate(p + 1);
            let _ = parse_response(&out, Ctx::UTF8);
        }
    }
}
