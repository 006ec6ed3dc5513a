//! Input split at any byte gives the same output (the Conn contract).
mod common;
use common::*;
use proptest::prelude::*;

const SCRIPT: &str = "a1 LOGIN mox@localhost moxmoxmox\r\na2 EXAMINE inbox\r\na3 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\na4 SEARCH TEXT {4+}\r\nbody\r\na5 UID SEARCH RETURN (COUNT) ALL\r\na6 LIST \"\" *\r\na7 LOGOUT\r\n";

fn run(env: &Env, cuts: &[usize]) -> String {
    let mut c = env.client();
    let bytes = SCRIPT.as_bytes();
    let mut out = String::new();
    let mut pos = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|&x| x % bytes.len()).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if cut > pos {
            out.push_str(&c.raw(&bytes[pos..cut]));
            pos = cut;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn split_anywhere(cuts in proptest::collection::vec(0usize..10_000, 0..12)) {
        thread_local! {
            static ENV: (Env, String) = {
                let env = Env::new();
                let mut c = env.login();
                c.append("p1", "inbox", "", &message("one", "body one"));
                c.append("p2", "inbox", "\\Seen", &message("two", "body two"));
                let whole = run(&env, &[]);
                (env, whole)
            };
        }
        ENV.with(|(env, whole)| {
            assert!(whole.ends_with("a7 OK LOGOUT completed\r\n"), "{whole}");
            prop_assert_eq!(&run(env, &cuts), whole);
            Ok(())
        })?;
    }
}
