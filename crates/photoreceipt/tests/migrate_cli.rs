//! `photoreceipt migrate` moves a SQLite install (with its blobs) to PostgreSQL and another
//! blob dir; run again it copies nothing new; the subcommands then work on the new database
//! through `--database-url`.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_photoreceipt");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PHOTORECEIPT_LOG", "warn")
        .env_remove("PHOTORECEIPT_DATABASE_URL")
        .output()
        .expect("run photoreceipt")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("dir")
            .map(|e| e.expect("entry"))
        {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .expect("rel")
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(e.path()).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_install_moves_to_postgres_and_another_blob_store_and_can_move_again() {
    let old = tempfile::tempdir().expect("dir");
    let data = old.path().to_str().expect("path");
    for name in ["shop", "studio"] {
        ok(&[
            "app",
            "create",
            "--name",
            name,
            "--balance-yuan",
            "12.5",
            "--data-dir",
            data,
        ]);
    }
    // A blob, as make and approve write them.
    let blob = old.path().join("blobs/pic/2026/12/04/1.jpg");
    std::fs::create_dir_all(blob.parent().expect("parent")).expect("mkdir");
    std::fs::write(&blob, b"\xFF\xD8\xFF\xE0photo").expect("blob");

    let pg = testpg::shared().new_database().expect("database");
    let new_blobs = tempfile::tempdir().expect("blobs");
    let from = format!("sqlite://{data}/photoreceipt.db");
    let to_blobs = new_blobs.path().to_str().expect("path");
    let blobs_from = format!("{data}/blobs");
    let args = [
        "migrate",
        "--from",
        &from,
        "--to",
        &pg,
        "--blobs-from",
        &blobs_from,
        "--blobs-to",
        to_blobs,
    ];
    let first = ok(&args);
    assert!(first.contains("every table's row count matches"), "{first}");
    assert!(
        first.contains("apps") && first.contains("2 →        2  ok"),
        "{first}"
    );
    assert!(
        first.contains("1 listed, 1 copied, 0 already there"),
        "{first}"
    );
    assert_eq!(files(&old.path().join("blobs")), files(new_blobs.path()));

    let again = ok(&args);
    assert!(
        again.contains("1 listed, 0 copied, 1 already there"),
        "{again}"
    );

    // The apps, their balances and keys' prefixes, now read from PostgreSQL.
    let list = |db: &[&str]| -> Value {
        let mut a = vec!["app", "list", "--json"];
        a.extend_from_slice(db);
        serde_json::from_str(&ok(&a)).expect("json")
    };
    let empty = tempfile::tempdir().expect("dir");
    let on_pg = list(&[
        "--data-dir",
        empty.path().to_str().expect("p"),
        "--database-url",
        &pg,
    ]);
    assert_eq!(on_pg, list(&["--data-dir", data]));
    assert_eq!(on_pg.as_array().map(Vec::len), Some(2));

    // A target that is not PostgreSQL, or a source that is not there, is refused.
    let bad = run(&["migrate", "--from", &from, "--to", "sqlite:///tmp/x.db"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--to must be a postgres:// URL"));
    let missing = run(&[
        "migrate",
        "--from",
        "sqlite:///nonexistent/pr.db",
        "--to",
        &pg,
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no SQLite database"));
}
