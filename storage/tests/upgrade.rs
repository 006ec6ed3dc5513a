//! Schema upgrades: foreground steps run on open; background steps run after
//! open on a thread, save progress, and resume after an interruption.

mod common;

use std::sync::{Arc, Mutex};

use moxide_storage::upgrade::{self, SCHEMA_VERSION, UpgradeContext, UpgradeStep};
use moxide_storage::{NewAccount, SpecialUse, Store, StoreConfig, StoreError};

fn foreground() -> UpgradeStep {
    UpgradeStep {
        version: SCHEMA_VERSION + 1,
        name: "test: add a mailbox",
        background: false,
        run: Arc::new(|ctx: &UpgradeContext| {
            ctx.store()
                .account("x")?
                .create_mailbox("Upgraded", SpecialUse::NONE)?;
            Ok(())
        }),
    }
}

/// A background step over items 0..10 that records what it processed and
/// fails once at item 5 when `fail` is set.
fn background(log: Arc<Mutex<Vec<u8>>>, fail: bool) -> UpgradeStep {
    UpgradeStep {
        version: SCHEMA_VERSION + 2,
        name: "test: slow background step",
        background: true,
        run: Arc::new(move |ctx: &UpgradeContext| {
            let start = ctx
                .progress()?
                .and_then(|p| p.first().copied())
                .unwrap_or(0);
            for i in start..10 {
                if fail && i == 5 {
                    return Err(StoreError::Corrupt {
                        what: "interrupted".into(),
                    });
                }
                log.lock().unwrap().push(i);
                ctx.save_progress(&[i + 1])?;
            }
            Ok(())
        }),
    }
}

#[test]
fn upgrade_steps_run_once_and_background_steps_resume() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(upgrade::stored_version(&s).unwrap(), Some(SCHEMA_VERSION));
        s.create_account("x", NewAccount::default()).unwrap();
    }
    {
        let s = Store::open_with_upgrades(dir.path(), StoreConfig::default(), vec![foreground()])
            .unwrap();
        assert_eq!(
            upgrade::stored_version(&s).unwrap(),
            Some(SCHEMA_VERSION + 1)
        );
        assert!(s.account("x").unwrap().mailbox("Upgraded").is_ok());
        common::assert_consistent(&s);
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    {
        // The foreground step does not run again (it would fail: the mailbox exists).
        let s = Store::open_with_upgrades(
            dir.path(),
            StoreConfig::default(),
            vec![foreground(), background(log.clone(), true)],
        )
        .unwrap();
        assert_eq!(
            upgrade::stored_version(&s).unwrap(),
            Some(SCHEMA_VERSION + 2)
        );
        assert!(matches!(
            s.wait_background(),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(
            upgrade::pending_background(&s).unwrap(),
            vec![SCHEMA_VERSION + 2]
        );
    }
    assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    {
        let s = Store::open_with_upgrades(
            dir.path(),
            StoreConfig::default(),
            vec![foreground(), background(log.clone(), false)],
        )
        .unwrap();
        s.wait_background().unwrap();
        assert!(upgrade::pending_background(&s).unwrap().is_empty());
        common::assert_consistent(&s);
    }
    assert_eq!(*log.lock().unwrap(), (0..10).collect::<Vec<u8>>());
    // A build that knows only its own schema refuses the newer database.
    match Store::open(dir.path(), StoreConfig::default()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 2, SCHEMA_VERSION))
        }
        other => panic!("{other:?}"),
    }
}
