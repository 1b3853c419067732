//! The tree against the RFC 6962 definition (a direct recursive implementation), the
//! published test-vector roots, proofs accepted and tampered proofs refused, and
//! checkpoints signed and opened; the on-disk log store against the in-memory tree,
//! across reopening and the torn tails a crash can leave.

use proptest::prelude::*;
use sightline_merkle::{
    Checkpoint, Hash, LogStore, Signer, Tree, Verifier, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// MTH as RFC 6962 §2.1 defines it.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha2_empty(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn sha2_empty() -> Hash {
    Tree::new().root()
}

fn tree_of(n: u64) -> (Tree, Vec<Hash>) {
    let mut t = Tree::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let e = format!("entry {i}");
        leaves.push(leaf_hash(e.as_bytes()));
        t.push(e.as_bytes());
    }
    (t, leaves)
}

#[test]
fn roots_match_the_rfc6962_test_vectors() {
    let entries: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let want = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut t = Tree::new();
    assert_eq!(
        hex::encode(t.root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (e, w) in entries.iter().zip(want) {
        t.push(e);
        assert_eq!(hex::encode(t.root()), w, "size {}", t.size());
    }
    // Roots of every earlier size stay available.
    assert_eq!(hex::encode(t.root_at(3).unwrap()), want[2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn roots_and_proofs_agree_with_the_definition(n in 1u64..300, seed in any::<u64>()) {
        let (t, leaves) = tree_of(n);
        let size = 1 + seed % n;
        let root = t.root_at(size).unwrap();
        prop_assert_eq!(root, mth(&leaves[..size as usize]));
        let index = (seed >> 17) % size;
        let proof = t.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(index, size, &leaves[index as usize], &proof, &root));
        // Any other leaf, index or root is refused.
        prop_assert!(!verify_inclusion(index, size, &leaf_hash(b"other"), &proof, &root));
        if size > 1 {
            prop_assert!(!verify_inclusion((index + 1) % size, size, &leaves[index as usize], &proof, &root));
        }
        if let Some(first) = proof.first() {
            let mut bad = proof.clone();
            bad[0] = node_hash(first, first);
            prop_assert!(!verify_inclusion(index, size, &leaves[index as usize], &bad, &root));
        }

        let old = (seed >> 33) % (size + 1);
        let old_root = t.root_at(old).unwrap();
        let cproof = t.consistency_proof(old, size).unwrap();
        prop_assert!(verify_consistency(old, size, &old_root, &root, &cproof));
        if old > 0 && old < size {
            // A root the old tree never had is not consistent with the new one.
            prop_assert!(!verify_consistency(old, size, &leaf_hash(b"forged"), &root, &cproof));
            prop_assert!(!verify_consistency(old, size, &old_root, &leaf_hash(b"forged"), &cproof));
        }
    }
}

#[test]
fn out_of_range_requests_have_no_proof() {
    let (t, _) = tree_of(10);
    assert!(t.inclusion_proof(10, 10).is_none());
    assert!(t.inclusion_proof(0, 11).is_none());
    assert!(t.consistency_proof(5, 11).is_none());
    assert!(t.consistency_proof(6, 5).is_none());
    assert_eq!(t.consistency_proof(10, 10), Some(vec![]));
}

#[test]
fn checkpoints_are_signed_notes_that_only_their_key_opens() {
    let (t, _) = tree_of(1000);
    let (signer, pkcs8) = Signer::generate("sightline.local/audit/123456789012/us-east-1").unwrap();
    let c = Checkpoint {
        origin: "sightline.local/audit/123456789012/us-east-1".into(),
        size: t.size(),
        root: t.root(),
    };
    let note = signer.sign(&c);
    assert!(note.starts_with(&c.body()));
    assert!(note.contains("\n\n\u{2014} sightline.local/audit/123456789012/us-east-1 "));
    let verifier = Verifier::decode(&signer.verifier().encode()).unwrap();
    assert_eq!(verifier.open(&note).unwrap(), c);
    // The same key reloaded signs the same way.
    let again = Signer::from_pkcs8(&verifier.name, &pkcs8).unwrap();
    assert_eq!(again.verifier(), verifier);

    let tampered = note.replace("\n1000\n", "\n999\n");
    assert!(verifier.open(&tampered).is_err());
    let (other, _) = Signer::generate("sightline.local/audit/123456789012/us-east-1").unwrap();
    assert!(other.verifier().open(&note).is_err());
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("record {i}").as_bytes()))
        .collect()
}

fn tree_over(leaves: &[Hash]) -> Tree {
    let mut t = Tree::new();
    for h in leaves {
        t.push_leaf_hash(*h);
    }
    t
}

/// Every root, and for each size one inclusion and one consistency proof chosen by
/// `seed`, equal the tree's and verify.
fn assert_store_matches(store: &LogStore, tree: &Tree, seed: u64) {
    let n = tree.size();
    assert_eq!(store.size(), n);
    assert_eq!(store.root().unwrap(), tree.root());
    for size in 0..=n {
        let root = store.root_at(size).unwrap();
        assert_eq!(root, tree.root_at(size), "root at {size}");
        let root = root.unwrap();
        let old = seed.wrapping_mul(size + 7) % (size + 1);
        let c = store.consistency_proof(old, size).unwrap();
        assert_eq!(
            c,
            tree.consistency_proof(old, size),
            "consistency {old} {size}"
        );
        let old_root = tree.root_at(old).unwrap();
        assert!(verify_consistency(old, size, &old_root, &root, &c.unwrap()));
        if size == 0 {
            continue;
        }
        let index = seed.wrapping_mul(size + 3) % size;
        let p = store.inclusion_proof(index, size).unwrap();
        assert_eq!(
            p,
            tree.inclusion_proof(index, size),
            "inclusion {index} {size}"
        );
        let leaf = store.leaf(index).unwrap().unwrap();
        assert!(verify_inclusion(index, size, &leaf, &p.unwrap(), &root));
    }
    assert_eq!(store.root_at(n + 1).unwrap(), None);
    assert_eq!(store.leaf(n).unwrap(), None);
    assert_eq!(store.inclusion_proof(0, n + 1).unwrap(), None);
    assert_eq!(store.inclusion_proof(n, n).unwrap(), None);
    assert_eq!(store.consistency_proof(0, n + 1).unwrap(), None);
    if n > 0 {
        assert_eq!(store.consistency_proof(n, n - 1).unwrap(), None);
    }
}

/// Each level file holds exactly the nodes level 0 implies.
fn assert_levels_consistent(dir: &Path, size: u64) {
    let mut implied = size;
    for level in 0.. {
        let path = dir.join(format!("level-{level:02}"));
        let Ok(meta) = std::fs::metadata(&path) else {
            assert_eq!(implied, 0, "{} missing", path.display());
            return;
        };
        assert_eq!(meta.len(), implied * 32, "{}", path.display());
        implied /= 2;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn store_appends_in_batches_serve_what_the_tree_does(
        batches in prop::collection::vec(0usize..70, 1..10),
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let all = leaves(batches.iter().sum::<usize>() as u64);
        let mut store = LogStore::open(dir.path()).unwrap();
        let mut done = 0;
        for (i, b) in batches.iter().enumerate() {
            let first = store.append(&all[done..done + b]).unwrap();
            prop_assert_eq!(first, done as u64);
            done += b;
            prop_assert_eq!(store.appended_size(), done as u64);
            // Every other batch is synced on its own; the rest ride with the next sync.
            if i % 2 == 1 {
                store.sync().unwrap();
                prop_assert_eq!(store.size(), done as u64);
            }
        }
        store.sync().unwrap();
        let tree = tree_over(&all);
        assert_store_matches(&store, &tree, seed);
        assert_levels_consistent(dir.path(), done as u64);

        drop(store);
        let store = LogStore::open(dir.path()).unwrap();
        assert_store_matches(&store, &tree, seed ^ 0x5555);
    }
}

#[test]
fn store_serves_only_synced_leaves_and_keeps_growing_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let all = leaves(1000);
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), 0);
    assert_eq!(store.root().unwrap(), Tree::new().root());
    store.append(&all[..300]).unwrap();
    store.sync().unwrap();
    store.append(&all[300..400]).unwrap();
    // Appended but not synced: not served.
    assert_eq!(store.size(), 300);
    assert_eq!(store.root_at(301).unwrap(), None);
    assert_eq!(store.leaf(300).unwrap(), None);
    store.sync().unwrap();
    assert_eq!(
        store.root_at(400).unwrap(),
        tree_over(&all[..400]).root_at(400)
    );

    // A second store on the same directory is refused while the first is open.
    assert!(matches!(
        LogStore::open(dir.path()),
        Err(sightline_merkle::Error::Io(_))
    ));
    drop(store);
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), 400);
    assert_eq!(store.append(&all[400..]).unwrap(), 400);
    store.sync().unwrap();
    assert_store_matches(&store, &tree_over(&all), 11);
    assert_levels_consistent(dir.path(), 1000);
}

/// Writes 200 synced leaves, damages the files with `damage`, reopens, and checks the
/// store is the tree of the first `survivors` leaves, with its levels rewritten to
/// match, and that appending the rest afterwards yields the full tree.
fn check_repair(survivors: u64, damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let all = leaves(200);
    let mut store = LogStore::open(dir.path()).unwrap();
    for batch in all.chunks(37) {
        store.append(batch).unwrap();
    }
    store.sync().unwrap();
    drop(store);

    damage(dir.path());
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_levels_consistent(dir.path(), survivors);
    assert_store_matches(&store, &tree_over(&all[..survivors as usize]), 3);
    store.append(&all[survivors as usize..]).unwrap();
    store.sync().unwrap();
    assert_store_matches(&store, &tree_over(&all), 5);
    assert_levels_consistent(dir.path(), 200);
}

fn level(dir: &Path, level: usize) -> std::path::PathBuf {
    dir.join(format!("level-{level:02}"))
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn store_repairs_a_partial_leaf_hash() {
    check_repair(200, |d| append_bytes(&level(d, 0), &[0xab; 17]));
}

#[test]
fn store_repairs_level_0_cut_mid_hash_with_upper_levels_ahead_of_it() {
    // 200 leaves cut to 130 and a half: every upper level is now longer than level 0
    // implies.
    check_repair(130, |d| set_len(&level(d, 0), 130 * 32 + 16));
}

#[test]
fn store_repairs_level_0_cut_to_nothing() {
    check_repair(0, |d| set_len(&level(d, 0), 0));
}

#[test]
fn store_recomputes_upper_levels_that_are_short_or_missing() {
    check_repair(200, |d| {
        set_len(&level(d, 1), 40 * 32 + 5);
        set_len(&level(d, 2), 0);
        std::fs::remove_file(level(d, 4)).unwrap();
        std::fs::remove_file(level(d, 7)).unwrap();
    });
}

#[test]
fn store_cuts_upper_levels_longer_than_level_0_implies() {
    check_repair(200, |d| {
        append_bytes(&level(d, 1), &[7; 32 * 3]);
        append_bytes(&level(d, 3), &[7; 40]);
        // A level above the top, left by nothing this store wrote.
        std::fs::write(level(d, 9), [1; 64]).unwrap();
    });
}

#[test]
fn store_recomputes_upper_level_nodes_a_crash_left_as_zeros() {
    check_repair(200, |d| {
        // 100 level-1 nodes; the last 10 come back as zeros, as after a crash on a
        // filesystem that extended the file before writing its data.
        set_len(&level(d, 1), 90 * 32);
        append_bytes(&level(d, 1), &[0; 10 * 32]);
    });
}

#[test]
fn store_finds_the_first_leaf_with_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.find_leaf(&leaf_hash(b"x")).unwrap(), None);
    // Beyond one 1 MiB read (32768 hashes), with a repeated hash.
    let mut all = leaves(70_000);
    all[69_999] = all[40_000];
    for batch in all.chunks(9_999) {
        store.append(batch).unwrap();
    }
    assert_eq!(store.find_leaf(&all[5]).unwrap(), None, "not yet synced");
    store.sync().unwrap();
    for i in [0u64, 1, 32_767, 32_768, 40_000, 65_536, 69_998] {
        assert_eq!(store.find_leaf(&all[i as usize]).unwrap(), Some(i));
    }
    assert_eq!(store.find_leaf(&leaf_hash(b"absent")).unwrap(), None);
    assert_eq!(store.root().unwrap(), tree_over(&all).root());
}
