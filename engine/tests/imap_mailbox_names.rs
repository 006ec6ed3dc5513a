//! Mailbox names the conformance transcripts found wrong: LSUB/LIST
//! (SUBSCRIBED) of subscribed names without a mailbox, and the spelling
//! of INBOX's children.
mod common;
use common::*;

#[test]
fn subscriptions_without_a_mailbox() {
    let env = Env::new();
    let mut c = env.login();
    // RFC 9051 6.3.7: a name may be subscribed without a mailbox.
    c.expect("a1 SUBSCRIBE Future", &["a1 OK SUBSCRIBE completed"]);
    c.expect("a2 CREATE Fun", &["a2 OK CREATE completed"]);
    c.expect("a3 SUBSCRIBE Fun", &["a3 OK SUBSCRIBE completed"]);
    c.expect(
        "a4 LIST (SUBSCRIBED) \"\" F*",
        &[
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" Fun",
            "* LIST (\\Subscribed \\NonExistent) \"/\" Future",
            "a4 OK LIST completed",
        ],
    );
    // A plain LIST shows only mailboxes.
    c.expect(
        "a5 LIST \"\" F*",
        &["* LIST (\\HasNoChildren) \"/\" Fun", "a5 OK LIST completed"],
    );
    c.expect(
        "a6 LSUB \"\" F*",
        &[
            "* LSUB () \"/\" Fun",
            "* LSUB () \"/\" Future",
            "a6 OK LSUB completed",
        ],
    );
    // RFC 3501 6.3.6: deleting the mailbox keeps the subscription.
    c.expect("a7 DELETE Fun", &["a7 OK DELETE completed"]);
    c.expect(
        "a8 LSUB \"\" F*",
        &[
            "* LSUB () \"/\" Fun",
            "* LSUB () \"/\" Future",
            "a8 OK LSUB completed",
        ],
    );
    c.expect(
        "a9 LIST (SUBSCRIBED) \"\" Fu%",
        &[
            "* LIST (\\Subscribed \\NonExistent) \"/\" Fun",
            "* LIST (\\Subscribed \\NonExistent) \"/\" Future",
            "a9 OK LIST completed",
        ],
    );
    c.expect("b1 UNSUBSCRIBE Future", &["b1 OK UNSUBSCRIBE completed"]);
    c.expect("b2 UNSUBSCRIBE Fun", &["b2 OK UNSUBSCRIBE completed"]);
    c.expect("b3 LSUB \"\" F*", &["b3 OK LSUB completed"]);
    c.expect("b4 LIST (SUBSCRIBED) \"\" F*", &["b4 OK LIST completed"]);
    env.check();
}

#[test]
fn inbox_children_are_spelled_like_inbox() {
    let env = Env::new();
    let mut c = env.login();
    c.expect("a1 CREATE inbox/Lists", &["a1 OK CREATE completed"]);
    c.expect("a2 CREATE INBOX/Lists/rust", &["a2 OK CREATE completed"]);
    c.expect(
        "a3 CREATE Inbox/Lists",
        &["a3 NO [ALREADYEXISTS] mailbox exists"],
    );
    c.expect(
        "a4 LIST \"\" *",
        &[
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasChildren) \"/\" INBOX",
            "* LIST (\\HasChildren) \"/\" INBOX/Lists",
            "* LIST (\\HasNoChildren) \"/\" INBOX/Lists/rust",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            "a4 OK LIST completed",
        ],
    );
    for (tag, pattern) in [("b1", "inbox/%"), ("b2", "INBOX/%"), ("b3", "Inbox/%")] {
        c.expect(
            &format!("{tag} LIST \"\" {pattern}"),
            &[
                "* LIST (\\HasChildren) \"/\" INBOX/Lists",
                &format!("{tag} OK LIST completed"),
            ],
        );
    }
    c.expect(
        "b4 LIST inbox/ % RETURN (STATUS (MESSAGES))",
        &[
            "* LIST (\\HasChildren) \"/\" INBOX/Lists",
            "* STATUS INBOX/Lists (MESSAGES 0)",
            "b4 OK LIST completed",
        ],
    );
    // Every spelling of the prefix names the same mailbox.
    let out = c.append("p1", "inbox/lists", "", &message("x", "y"));
    assert!(out.starts_with("p1 NO [TRYCREATE]"), "{out}");
    let out = c.append("p2", "inbox/Lists", "", &message("x", "y"));
    assert!(out.starts_with("p2 OK [APPENDUID"), "{out}");
    c.expect(
        "c1 STATUS Inbox/Lists (MESSAGES)",
        &[
            "* STATUS Inbox/Lists (MESSAGES 1)",
            "c1 OK STATUS completed",
        ],
    );
    c.expect(
        "c2 SUBSCRIBE inbox/Lists/rust",
        &["c2 OK SUBSCRIBE completed"],
    );
    c.expect(
        "c3 LSUB \"\" INBOX/*",
        &["* LSUB () \"/\" INBOX/Lists/rust", "c3 OK LSUB completed"],
    );
    c.expect(
        "c4 LIST (SUBSCRIBED) \"\" INBOX/*",
        &[
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX/Lists/rust",
            "c4 OK LIST completed",
        ],
    );
    let sel = c.send("c5 EXAMINE INBOX/Lists");
    assert!(sel.contains("* 1 EXISTS\r\n"), "{sel}");
    assert!(
        sel.ends_with("c5 OK [READ-ONLY] EXAMINE completed\r\n"),
        "{sel}"
    );
    c.expect(
        "c6 RENAME inbox/Lists/rust Inbox/rust",
        &["c6 OK RENAME completed"],
    );
    c.expect(
        "c7 LIST \"\" INBOX*",
        &[
            "* LIST (\\HasChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren) \"/\" INBOX/Lists",
            "* LIST (\\HasNoChildren) \"/\" INBOX/rust",
            "c7 OK LIST completed",
        ],
    );
    c.expect("c8 DELETE INBOX/rust", &["c8 OK DELETE completed"]);
    env.check();
}

#[test]
fn delete_parent_and_select_list_attributes() {
    let env = Env::new();
    let mut c = env.login();
    c.expect("a1 CREATE Top/Leaf", &["a1 OK CREATE completed"]);
    // RFC 9051 6.3.4: NO with HASCHILDREN for a mailbox with children.
    c.expect(
        "a2 DELETE Top",
        &["a2 NO [HASCHILDREN] mailbox has children"],
    );
    c.expect(
        "a3 ENABLE IMAP4rev2",
        &["* ENABLED IMAP4rev2", "a3 OK ENABLE completed"],
    );
    // RFC 9051 6.3.2: SELECT's LIST response has the accurate attributes.
    let out = c.send("a4 EXAMINE Top");
    assert!(
        out.contains("\r\n* LIST (\\HasChildren) \"/\" Top\r\na4 OK [READ-ONLY]"),
        "{out}"
    );
    let out = c.send("a5 SELECT Sent");
    assert!(
        out.contains("\r\n* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\na5 OK [READ-WRITE]"),
        "{out}"
    );
    let out = c.send("a6 SELECT inbox");
    assert!(
        out.contains("\r\n* LIST (\\HasNoChildren) \"/\" INBOX\r\na6 OK [READ-WRITE]"),
        "{out}"
    );
    c.expect("a7 DELETE Top/Leaf", &["a7 OK DELETE completed"]);
    c.expect("a8 DELETE Top", &["a8 OK DELETE completed"]);
    c.expect("a9 LIST \"\" Top*", &["a9 OK LIST completed"]);
    env.check();
}

#[test]
fn lsub_percent_returns_unsubscribed_parents_as_noselect() {
    let env = Env::new();
    let mut c = env.login();
    c.expect("a1 CREATE Foo/Bar", &["a1 OK CREATE completed"]);
    c.expect("a2 SUBSCRIBE Foo/Bar", &["a2 OK SUBSCRIBE completed"]);
    c.expect(
        "a3 SUBSCRIBE Gone/Deep/Name",
        &["a3 OK SUBSCRIBE completed"],
    );
    // RFC 3501 6.3.9: "foo/bar" subscribed, "foo" not: `%` gives "foo"
    // flagged \Noselect.
    c.expect(
        "a4 LSUB \"\" %o%",
        &[
            "* LSUB (\\Noselect) \"/\" Foo",
            "* LSUB (\\Noselect) \"/\" Gone",
            "a4 OK LSUB completed",
        ],
    );
    c.expect(
        "a5 LSUB \"\" Gone/%",
        &[
            "* LSUB (\\Noselect) \"/\" Gone/Deep",
            "a5 OK LSUB completed",
        ],
    );
    c.expect(
        "a6 LSUB \"\" Foo*",
        &["* LSUB () \"/\" Foo/Bar", "a6 OK LSUB completed"],
    );
    c.expect("a7 SUBSCRIBE Foo", &["a7 OK SUBSCRIBE completed"]);
    c.expect(
        "a8 LSUB \"\" F%",
        &["* LSUB () \"/\" Foo", "a8 OK LSUB completed"],
    );
    // RFC 5258 3.5: CHILDINFO counts subscribed names without a mailbox.
    c.expect("a9 UNSUBSCRIBE Foo", &["a9 OK UNSUBSCRIBE completed"]);
    c.expect("b1 UNSUBSCRIBE Foo/Bar", &["b1 OK UNSUBSCRIBE completed"]);
    c.expect("b2 SUBSCRIBE Foo/Later", &["b2 OK SUBSCRIBE completed"]);
    c.expect(
        "b3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" F%",
        &[
            "* LIST (\\HasChildren) \"/\" Foo (CHILDINFO (\"SUBSCRIBED\"))",
            "b3 OK LIST completed",
        ],
    );
    env.check();
}

#[test]
fn delete_refuses_the_selected_mailbox_after_a_parent_rename() {
    let env = Env::new();
    let mut c = env.login();
    c.expect("a1 CREATE Top/Leaf", &["a1 OK CREATE completed"]);
    let out = c.send("a2 SELECT Top/Leaf");
    assert!(
        out.ends_with("a2 OK [READ-WRITE] SELECT completed\r\n"),
        "{out}"
    );
    c.expect("a3 RENAME Top Moved", &["a3 OK RENAME completed"]);
    c.expect(
        "a4 DELETE Moved/Leaf",
        &["a4 NO [INUSE] mailbox is selected"],
    );
    c.expect(
        "a5 DELETE Top/Leaf",
        &["a5 NO [NONEXISTENT] no such mailbox"],
    );
    c.expect("a6 CLOSE", &["a6 OK CLOSE completed"]);
    c.expect("a7 DELETE Moved/Leaf", &["a7 OK DELETE completed"]);
    env.check();
}
