//! The tree against the RFC 6962 definition (a direct recursive implementation), the
//! published test-vector roots, proofs accepted and tampered proofs refused, and
//! checkpoints signed and opened.

use proptest::prelude::*;
use sightline_merkle::{
    Checkpoint, Hash, Signer, Tree, Verifier, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};

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
