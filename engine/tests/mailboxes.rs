//! Mailbox commands: CREATE (special-use), RENAME, DELETE, SUBSCRIBE, LIST
//! (extended, status, special-use), LSUB, STATUS, NAMESPACE, ID, ENABLE,
//! QUOTA.
mod common;
use common::*;

#[test]
fn create_rename_delete_list() {
    let env = Env::new();
    let mut c = env.login();
    c.expect("a1 CREATE Lists/rust", &["a1 OK CREATE completed"]);
    c.expect("a2 CREATE Lists", &["a2 NO [ALREADYEXISTS] mailbox exists"]);
    c.expect("a3 CREATE inbox", &["a3 NO [ALREADYEXISTS] mailbox exists"]);
    c.expect("a4 CREATE Spam (USE (\\Junk))", &["a4 OK CREATE completed"]);
    c.expect(
        "a5 CREATE Odd (USE (\\Important))",
        &["a5 NO [USEATTR] unsupported special-use attribute"],
    );
    c.expect(
        "a6 LIST \"\" %",
        &[
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasChildren) \"/\" Lists",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Spam",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            "a6 OK LIST completed",
        ],
    );
    c.expect(
        "a7 LIST \"\" \"\"",
        &["* LIST (\\Noselect) \"/\" \"\"", "a7 OK LIST completed"],
    );
    c.expect("a8 RENAME Lists Groups", &["a8 OK RENAME completed"]);
    c.expect(
        "a9 LIST Groups/ *",
        &[
            "* LIST (\\HasNoChildren) \"/\" Groups/rust",
            "a9 OK LIST completed",
        ],
    );
    c.expect("b1 DELETE Nope", &["b1 NO [NONEXISTENT] no such mailbox"]);
    c.expect(
        "b2 DELETE INBOX",
        &["b2 NO [CANNOT] INBOX cannot be deleted"],
    );
    c.expect("b3 DELETE Groups/rust", &["b3 OK DELETE completed"]);
    c.expect(
        "b4 RENAME Spam Junk",
        &["b4 NO [ALREADYEXISTS] mailbox exists"],
    );
    c.expect("b5 SUBSCRIBE Groups", &["b5 OK SUBSCRIBE completed"]);
    c.expect("b6 UNSUBSCRIBE Spam", &["b6 OK UNSUBSCRIBE completed"]);
    c.expect(
        "b7 LIST (SUBSCRIBED) \"\" G*",
        &[
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Groups",
            "b7 OK LIST completed",
        ],
    );
    c.expect(
        "b8 LIST (SPECIAL-USE) \"\" * RETURN (STATUS (MESSAGES UIDNEXT))",
        &[
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* STATUS Archive (MESSAGES 0 UIDNEXT 1)",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* STATUS Drafts (MESSAGES 0 UIDNEXT 1)",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* STATUS Junk (MESSAGES 0 UIDNEXT 1)",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* STATUS Sent (MESSAGES 0 UIDNEXT 1)",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Spam",
            "* STATUS Spam (MESSAGES 0 UIDNEXT 1)",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            "* STATUS Trash (MESSAGES 0 UIDNEXT 1)",
            "b8 OK LIST completed",
        ],
    );
    c.expect(
        "b9 LSUB \"\" *",
        &[
            "* LSUB () \"/\" Archive",
            "* LSUB () \"/\" Drafts",
            "* LSUB () \"/\" Groups",
            "* LSUB () \"/\" INBOX",
            "* LSUB () \"/\" Junk",
            "* LSUB () \"/\" Sent",
            "* LSUB () \"/\" Trash",
            "b9 OK LSUB completed",
        ],
    );
    c.expect(
        "c1 STATUS Nope (MESSAGES)",
        &["c1 NO [NONEXISTENT] no such mailbox"],
    );
    c.expect("c2 SELECT Nope", &["c2 NO [NONEXISTENT] no such mailbox"]);
    env.check();
}

#[test]
fn misc_commands() {
    let env = Env::new();
    let mut c = env.login();
    c.expect(
        "a1 NAMESPACE",
        &[
            "* NAMESPACE ((\"\" \"/\")) NIL NIL",
            "a1 OK NAMESPACE completed",
        ],
    );
    c.expect(
        "a2 ID (\"name\" \"test\")",
        &["* ID (\"name\" \"moxide\")", "a2 OK ID completed"],
    );
    c.expect(
        "a3 ENABLE IMAP4rev2 CONDSTORE X-UNKNOWN",
        &["* ENABLED IMAP4rev2 CONDSTORE", "a3 OK ENABLE completed"],
    );
    c.expect(
        "a4 ENABLE CONDSTORE",
        &["* ENABLED", "a4 OK ENABLE completed"],
    );
    c.expect(
        "a5 GETQUOTAROOT INBOX",
        &["* QUOTAROOT INBOX", "a5 OK GETQUOTAROOT completed"],
    );
    c.expect(
        "a6 GETQUOTA \"\"",
        &["a6 NO [NONEXISTENT] no such quota root"],
    );
    c.expect(
        "a7 SETQUOTA \"\" (STORAGE 10)",
        &["a7 NO [NOPERM] quota is set by the administrator"],
    );
    c.expect(
        "a8 SELECT inbox",
        &[
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] flags permitted",
            "* 0 EXISTS",
            "* OK [UIDVALIDITY 1] uidvalidity",
            "* OK [UIDNEXT 1] next uid",
            "* OK [HIGHESTMODSEQ 2] highest modseq",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "a8 OK [READ-WRITE] SELECT completed",
        ],
    );
    // IMAP4rev2: SEARCH answers with ESEARCH.
    c.expect(
        "a9 SEARCH ALL",
        &["* ESEARCH (TAG \"a9\")", "a9 OK SEARCH completed"],
    );
    c.expect("b1 COMPRESS DEFLATE", &["b1 OK DEFLATE active"]);
    assert!(c.s.state() != moxide_proto::imap::server::ServerState::Logout);
}

#[test]
fn quota_reports_usage_and_limit() {
    let env = Env::new();
    env.store.account("mox").unwrap().set_quota(4096).unwrap();
    let mut c = env.login();
    c.append("p1", "inbox", "", &message("q", "quota"));
    c.expect(
        "a1 GETQUOTA \"\"",
        &["* QUOTA \"\" (STORAGE 1 4)", "a1 OK GETQUOTA completed"],
    );
    let big = message("big", &"x".repeat(5000));
    assert_eq!(
        c.append("p2", "inbox", "", &big),
        "p2 NO [OVERQUOTA] over quota\r\n"
    );
    env.check();
}

#[test]
fn quota_roots() {
    let env = Env::new();
    let mut c = env.login();
    // No limit: no quota root (RFC 9208 4.3.2), and "" is not a root.
    c.expect(
        "a1 GETQUOTAROOT Inbox",
        &["* QUOTAROOT INBOX", "a1 OK GETQUOTAROOT completed"],
    );
    c.expect(
        "a2 GETQUOTA \"\"",
        &["a2 NO [NONEXISTENT] no such quota root"],
    );
    c.expect(
        "a3 GETQUOTA \"nonexistent-root\"",
        &["a3 NO [NONEXISTENT] no such quota root"],
    );
    c.expect(
        "a4 GETQUOTAROOT Nope",
        &["a4 NO [NONEXISTENT] no such mailbox"],
    );
    env.store.account("mox").unwrap().set_quota(8192).unwrap();
    c.append("p1", "inbox", "", &message("q", "quota"));
    // With a limit: the root "" and its QUOTA response.
    c.expect(
        "b1 GETQUOTAROOT INBOX",
        &[
            "* QUOTAROOT INBOX \"\"",
            "* QUOTA \"\" (STORAGE 1 8)",
            "b1 OK GETQUOTAROOT completed",
        ],
    );
    c.expect(
        "b2 GETQUOTA \"\"",
        &["* QUOTA \"\" (STORAGE 1 8)", "b2 OK GETQUOTA completed"],
    );
    c.expect(
        "b3 GETQUOTA \"other\"",
        &["b3 NO [NONEXISTENT] no such quota root"],
    );
    env.check();
}
