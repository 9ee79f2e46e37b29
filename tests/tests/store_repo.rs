//! The static store end to end: repositories made with the `snap-store` command, served by a
//! real nginx on loopback (each test starts its own, never the system's service), read by the
//! device's client of `snap-store`.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use snap_store::{Channel, Check, DeviceSeed, Index, PublicKey, StoreClient, StoreError};
use snap_tests::nginx::Nginx;
use snap_tests::{app_snap, bin, fails, ok, store_fixture};

/// A repository with a publishing key, served by nginx.
struct Store {
    dir: tempfile::TempDir,
    nginx: Nginx,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        ok(&cli(&["keygen", key.to_str().unwrap()]));
        let repo = dir.path().join("repo");
        ok(&cli(&[
            "init",
            repo.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]));
        let nginx = Nginx::serve(&repo);
        Store { dir, nginx }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    fn public(&self) -> PublicKey {
        let text = std::fs::read_to_string(self.dir.path().join("key.pub")).unwrap();
        PublicKey::parse(&text).unwrap()
    }

    fn client(&self) -> StoreClient {
        StoreClient::new(&self.nginx.url(), vec![self.public()]).unwrap()
    }

    /// `snap-store publish` of `file` with extra arguments; its stdout.
    fn publish(&self, file: &Path, args: &[&str]) -> String {
        let (repo, key) = (self.repo(), self.key());
        let mut a = vec![
            "publish",
            repo.to_str().unwrap(),
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ];
        a.extend_from_slice(args);
        ok(&cli(&a))
    }

    fn snap(&self, name: &str, version: &str) -> PathBuf {
        app_snap(
            &self.dir.path().join(format!("in-{version}")),
            name,
            version,
            "core24",
        )
    }

    fn fetch(&self) -> Index {
        match self.client().check(None, None).unwrap() {
            Check::Updated { index, .. } => index,
            Check::NotModified => panic!("unconditional GET answered 304"),
        }
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(bin("snap-store")).args(args).output().unwrap()
}

fn seed(i: u32) -> DeviceSeed {
    let mut b = [7u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    DeviceSeed::from_bytes(b)
}

fn stable() -> Channel {
    Channel::parse("stable").unwrap()
}

#[test]
fn a_check_is_one_conditional_get_and_costs_a_few_hundred_bytes() {
    let store = Store::new();
    let v1 = store.snap("hello", "1.0");
    let out = store.publish(&v1, &["--channel=latest/stable"]);
    assert!(out.contains("hello 1.0 revision 1"), "{out}");
    let client = store.client();

    let Check::Updated { index, etag } = client.check(None, None).unwrap() else {
        panic!("first check must bring the index");
    };
    let etag = etag.expect("nginx sends an ETag");
    let r = index.resolve("hello", &stable(), &seed(0)).unwrap();
    assert_eq!((r.revision, r.entry.version.as_str()), (1, "1.0"));

    // Nothing changed: one 304.
    assert!(matches!(
        client.check(Some(&etag), Some(index.serial)).unwrap(),
        Check::NotModified
    ));
    let log = store.nginx.log(2);
    assert_eq!(log.len(), 2, "{log:?}");
    let check = &log[1];
    assert_eq!(
        (check.status, check.request.as_str()),
        (304, "GET /index.json HTTP/1.1")
    );
    let total = check.request_bytes + check.response_bytes;
    println!(
        "no-change refresh check: request {} bytes + 304 response {} bytes = {total} bytes (HTTP/1.1 headers; TCP/IP and TLS not counted)",
        check.request_bytes, check.response_bytes
    );
    assert!(total < 500, "a no-change check costs {total} bytes");

    // Publishing again (at once: the same second) changes the ETag and brings the new index.
    let v2 = store.snap("hello", "2.0");
    let out = store.publish(&v2, &["--channel=stable"]);
    assert!(out.contains("hello 2.0 revision 2"), "{out}");
    let Check::Updated {
        index: newer,
        etag: etag2,
    } = client.check(Some(&etag), Some(index.serial)).unwrap()
    else {
        panic!("a changed index must not be answered 304");
    };
    assert_ne!(etag2.as_deref(), Some(etag.as_str()));
    assert!(newer.serial > index.serial);
    assert_eq!(
        newer
            .resolve("hello", &stable(), &seed(0))
            .unwrap()
            .revision,
        2
    );
    assert_eq!(store.nginx.log(3)[2].status, 200);

    // Publishing the same file again makes no new revision.
    let out = store.publish(&v2, &["--channel=beta"]);
    assert!(out.contains("revision 2 (already uploaded)"), "{out}");

    // Two changes within one second that leave the index the same size: nginx's ETag is
    // mtime-in-seconds plus size, so only the publisher's mtime step keeps them apart.
    let (repo, key) = (store.repo(), store.key());
    let release = |rev: &str| {
        ok(&cli(&[
            "release",
            repo.to_str().unwrap(),
            "hello",
            rev,
            "beta",
            "--key",
            key.to_str().unwrap(),
        ]))
    };
    release("1");
    let Check::Updated {
        index: a,
        etag: Some(etag_a),
    } = client.check(None, None).unwrap()
    else {
        panic!("no index or no ETag");
    };
    let len_a = std::fs::metadata(repo.join("index.json")).unwrap().len();
    release("2");
    assert_eq!(
        std::fs::metadata(repo.join("index.json")).unwrap().len(),
        len_a
    );
    let Check::Updated {
        index: b,
        etag: Some(etag_b),
    } = client.check(Some(&etag_a), Some(a.serial)).unwrap()
    else {
        panic!("a same-size change within the second was answered 304");
    };
    assert_eq!(b.snaps["hello"].channels["latest/beta"].revision, 2);

    // What a no-change check takes on loopback (one reused connection), for the record.
    let mut times: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let c = client.check(Some(&etag_b), Some(b.serial)).unwrap();
            assert!(matches!(c, Check::NotModified));
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "no-change check on loopback: median {:?} over 50",
        times[25]
    );
}

#[test]
fn tampered_unsigned_replayed_and_malformed_indexes_are_rejected() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &[]);
    let index_path = store.repo().join("index.json");
    let v1_bytes = std::fs::read(&index_path).unwrap();
    store.publish(&store.snap("hello", "2.0"), &[]);
    let good = std::fs::read(&index_path).unwrap();
    let accepted = store.fetch();

    // One byte of the signed content changed (a digit of a digest).
    let text = String::from_utf8(good.clone()).unwrap();
    let at = text.find("\"sha384\":\"").unwrap() + 10;
    let mut tampered = good.clone();
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&index_path, &tampered).unwrap();
    let err = store.client().check(None, None).unwrap_err();
    assert!(matches!(err, StoreError::BadSignature { .. }), "{err}");

    // The signature removed.
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["signatures"] = serde_json::json!([]);
    std::fs::write(&index_path, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = store.client().check(None, None).unwrap_err();
    assert!(matches!(err, StoreError::Unsigned { .. }), "{err}");

    // Cut short.
    std::fs::write(&index_path, &good[..good.len() / 2]).unwrap();
    let err = store.client().check(None, None).unwrap_err();
    assert!(matches!(err, StoreError::MalformedIndex { .. }), "{err}");

    // An older index, validly signed, served again to a device that has seen a newer one.
    std::fs::write(&index_path, &v1_bytes).unwrap();
    let err = store
        .client()
        .check(None, Some(accepted.serial))
        .unwrap_err();
    assert!(matches!(err, StoreError::Rollback { .. }), "{err}");

    // A missing index is a clear HTTP error.
    std::fs::remove_file(&index_path).unwrap();
    let err = store.client().check(None, None).unwrap_err();
    assert!(
        matches!(err, StoreError::HttpStatus { status: 404, .. }),
        "{err}"
    );
}

#[test]
fn an_index_signed_by_an_untrusted_key_is_rejected() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &[]);
    let other = store.dir.path().join("other");
    ok(&cli(&["keygen", other.to_str().unwrap()]));
    let other_pub =
        PublicKey::parse(&std::fs::read_to_string(store.dir.path().join("other.pub")).unwrap())
            .unwrap();
    let client = StoreClient::new(&store.nginx.url(), vec![other_pub]).unwrap();
    let err = client.check(None, None).unwrap_err();
    assert!(matches!(err, StoreError::UntrustedKey { .. }), "{err}");

    // Nor can the other key's holder publish into this repository.
    let out = cli(&[
        "publish",
        store.repo().to_str().unwrap(),
        store.snap("hello", "2.0").to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
    ]);
    let err = fails(&out);
    assert!(err.contains("not signed by a trusted key"), "{err}");
}

#[test]
fn a_tampered_blob_is_rejected_by_its_digest_and_nothing_is_kept() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &[]);
    let index = store.fetch();
    let rev = index.resolve("hello", &stable(), &seed(0)).unwrap().entry;
    let blob = store.repo().join(&rev.blob);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let dl = tempfile::tempdir().unwrap();
    let dest = dl.path().join("hello_1.snap");
    let err = store
        .client()
        .download(&rev, &dest, &mut |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(dl.path()).unwrap().count(),
        0,
        "left behind"
    );

    // A blob of the wrong size (longer than the index says) is cut off and refused too.
    bytes[mid] ^= 0xff;
    bytes.extend_from_slice(b"more");
    std::fs::write(&blob, &bytes).unwrap();
    let err = store
        .client()
        .download(&rev, &dest, &mut |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
    assert_eq!(
        std::fs::read_dir(dl.path()).unwrap().count(),
        0,
        "left behind"
    );
}

/// A snap of about `mb` MB that does not compress (so its blob is that big).

#[test]
fn an_interrupted_download_resumes_with_a_range_request_and_verifies() {
    let store = Store::new();
    let file = store_fixture::big_snap(store.dir.path(), 4, "app");
    store.publish(&file, &[]);
    let rev = store
        .fetch()
        .resolve("big", &stable(), &seed(0))
        .unwrap()
        .entry;
    let client = store.client();
    let dl = tempfile::tempdir().unwrap();
    let dest = dl.path().join("big_1.snap");
    let partial = snap_store::client::partial_path(&dest);

    // Interrupted halfway (the daemon aborting, or the device losing power after a sync).
    let half = rev.size / 2;
    let err = client
        .download(&rev, &dest, &mut |p| {
            if p.done >= half {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap_err();
    let StoreError::Cancelled { done, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), done);
    assert!(!dest.exists());

    // Resumed: one Range request for the rest, then verified and moved into place.
    let mut first_progress = None;
    client
        .download(&rev, &dest, &mut |p| {
            first_progress.get_or_insert(p.done);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(
        first_progress.unwrap() > done,
        "the resumed download started from 0"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&file).unwrap());
    assert!(!partial.exists());
    let log = store.nginx.log(3);
    let resumed = log.last().unwrap();
    assert_eq!(resumed.status, 206, "{log:?}");
    assert_eq!(resumed.range, format!("bytes={done}-"));
    assert!(
        resumed.response_bytes < rev.size - done + 1024,
        "{resumed:?}"
    );

    // A partial file truncated anywhere (here at a third) resumes from where it ends.
    std::fs::remove_file(&dest).unwrap();
    let third = (rev.size / 3) as usize;
    std::fs::write(&partial, &std::fs::read(&file).unwrap()[..third]).unwrap();
    client
        .download(&rev, &dest, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(
        store.nginx.log(4).last().unwrap().range,
        format!("bytes={third}-")
    );
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&file).unwrap());

    // A partial file whose start is corrupt fails verification once resumed; the client then
    // fetches the whole blob and succeeds.
    std::fs::remove_file(&dest).unwrap();
    std::fs::write(&partial, vec![0u8; third]).unwrap();
    client
        .download(&rev, &dest, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    let log = store.nginx.log(6);
    let last_two: Vec<u16> = log[log.len() - 2..].iter().map(|l| l.status).collect();
    assert_eq!(last_two, [206, 200], "{log:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&file).unwrap());
}

#[test]
fn a_download_cut_by_the_server_stopping_resumes_when_it_is_back() {
    let mut store = Store::new();
    // Paced, so that little is in flight when the server dies (loopback socket buffers hold
    // megabytes).
    store.nginx = Nginx::serve_with(&store.repo(), "limit_rate 2m;");
    let file = store_fixture::big_snap(store.dir.path(), 4, "app");
    store.publish(&file, &[]);
    let rev = store
        .fetch()
        .resolve("big", &stable(), &seed(0))
        .unwrap()
        .entry;
    let client = store.client();
    let dl = tempfile::tempdir().unwrap();
    let dest = dl.path().join("big_1.snap");

    // nginx killed once the first bytes have arrived: what is already in the socket buffers
    // may arrive, the rest cannot.
    let mut killed = false;
    let result = client.download(&rev, &dest, &mut |p| {
        if !killed && p.done > 0 {
            killed = true;
            let _ = store.nginx.child.kill();
            let _ = store.nginx.child.wait();
        }
        ControlFlow::Continue(())
    });
    let err = result.expect_err("the blob cannot all be in flight when the server dies");
    assert!(matches!(err, StoreError::Download { .. }), "{err}");
    let have = std::fs::metadata(snap_store::client::partial_path(&dest))
        .unwrap()
        .len();
    assert!(have > 0 && have < rev.size, "{have}");

    store.nginx = Nginx::serve_with(&store.repo(), "limit_rate 2m;");
    let client = store.client();
    client
        .download(&rev, &dest, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    let log = store.nginx.log(1);
    assert_eq!(
        (log[0].status, log[0].range.clone()),
        (206, format!("bytes={have}-"))
    );
    let mut a = Vec::new();
    std::fs::File::open(&dest)
        .unwrap()
        .read_to_end(&mut a)
        .unwrap();
    assert_eq!(a, std::fs::read(&file).unwrap());
}

#[test]
fn rollouts_reach_the_expected_share_of_devices() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &[]);
    store.publish(&store.snap("hello", "2.0"), &["--rollout=0"]);
    let devices = 4000u32;
    let share = |index: &Index| {
        let new = (0..devices)
            .filter(|i| {
                index
                    .resolve("hello", &stable(), &seed(*i))
                    .unwrap()
                    .revision
                    == 2
            })
            .count();
        new as f64 / f64::from(devices) * 100.0
    };
    assert_eq!(share(&store.fetch()), 0.0);

    let repo = store.repo();
    let key = store.key();
    let release = |pct: &str| {
        ok(&cli(&[
            "release",
            repo.to_str().unwrap(),
            "hello",
            "2",
            "latest/stable",
            &format!("--rollout={pct}"),
            "--key",
            key.to_str().unwrap(),
        ]))
    };
    release("50");
    let half = share(&store.fetch());
    assert!((46.0..54.0).contains(&half), "{half}%");
    release("10");
    let tenth = share(&store.fetch());
    assert!((7.5..12.5).contains(&tenth), "{tenth}%");
    release("100");
    assert_eq!(share(&store.fetch()), 100.0);
    println!(
        "rollout over {devices} device seeds: 0% -> 0%, 50% -> {half:.1}%, 10% -> {tenth:.1}%, 100% -> 100%"
    );
    let listing = ok(&cli(&["list", repo.to_str().unwrap()]));
    assert!(
        listing.contains("latest/stable") && listing.contains("2.0"),
        "{listing}"
    );
}

#[test]
fn closed_channels_follow_the_more_stable_risk_over_http() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &["--channel=stable"]);
    store.publish(&store.snap("hello", "2.0"), &["--channel=edge"]);
    let edge = Channel::parse("edge").unwrap();
    let r = store.fetch().resolve("hello", &edge, &seed(0)).unwrap();
    assert_eq!(
        (r.revision, r.served_from.to_string()),
        (2, "latest/edge".into())
    );
    ok(&cli(&[
        "close",
        store.repo().to_str().unwrap(),
        "hello",
        "edge",
        "--key",
        store.key().to_str().unwrap(),
    ]));
    let r = store.fetch().resolve("hello", &edge, &seed(0)).unwrap();
    assert_eq!(
        (r.revision, r.served_from.to_string()),
        (1, "latest/stable".into())
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let store = Store::new();
    store.publish(&store.snap("hello", "1.0"), &[]);
    let index_path = store.repo().join("index.json");
    let before = std::fs::read(&index_path).unwrap();
    let blobs = || {
        std::fs::read_dir(store.repo().join("blobs"))
            .unwrap()
            .count()
    };
    let blobs_before = blobs();
    let repo = store.repo();
    let key = store.key();
    let (r, k) = (repo.to_str().unwrap(), key.to_str().unwrap());
    let v2 = store.snap("hello", "2.0");
    let v2 = v2.to_str().unwrap();
    let not_a_snap = store.dir.path().join("junk.snap");
    std::fs::write(&not_a_snap, b"not squashfs").unwrap();
    for (args, why) in [
        (
            vec!["publish", r, v2, "--channel=latest/foo", "--key", k],
            "not a risk",
        ),
        (vec!["publish", r, v2, "--rollout=101", "--key", k], "101"),
        (
            vec!["publish", r, not_a_snap.to_str().unwrap(), "--key", k],
            "junk.snap",
        ),
        (
            vec!["publish", r, v2, "--key", "/nonexistent/key"],
            "/nonexistent/key",
        ),
        (
            vec!["release", r, "hello", "9", "stable", "--key", k],
            "no revision 9",
        ),
        (
            vec!["release", r, "nope", "1", "stable", "--key", k],
            "\"nope\" is not in the store",
        ),
        (
            vec!["close", r, "hello", "edge", "--key", k],
            "no open channel latest/edge",
        ),
        (vec!["init", r], "already a repository"),
    ] {
        let err = fails(&cli(&args));
        assert!(err.contains(why), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(&index_path).unwrap(), before);
    assert_eq!(blobs(), blobs_before);
}
