//! K-fold split by person, stratified by gender x age bin, seeded. All photos of a person
//! fall in one fold, so validation never sees a face it trained on; ids the annotator
//! decided are one person fall in one fold too. Pure: no torch.

use crate::dataset::{AgeBin, Gender};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The fold (0..k) of each person. People are grouped by (gender, age bin); each group is
/// shuffled with `seed` and dealt round-robin, continuing where the previous group stopped,
/// so fold sizes differ by at most one person and every stratum is spread evenly.
pub fn person_folds(strata: &[(Gender, AgeBin)], k: usize, seed: u64) -> Vec<usize> {
    assert!(k >= 1, "k-fold needs k >= 1");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![0usize; strata.len()];
    let mut next = 0usize;
    for gender in Gender::ALL {
        for age in AgeBin::ALL {
            let mut members: Vec<usize> = (0..strata.len())
                .filter(|&i| strata[i] == (gender, age))
                .collect();
            members.shuffle(&mut rng);
            for person in members {
                folds[person] = next % k;
                next += 1;
            }
        }
    }
    folds
}

/// Moves every id of one person (`identities`, the annotator's "same person" decisions) to
/// the fold of the group's first id, so no face is both trained on and held out. Without
/// such decisions the folds are unchanged, so a seed gives the split it always gave.
pub fn keep_identities_together(
    folds: &mut [usize],
    identities: &crate::curation::Identities,
) -> usize {
    let mut moved = 0;
    for p in 0..folds.len() {
        let first = identities.group_of(p);
        if first < folds.len() && folds[p] != folds[first] {
            folds[p] = folds[first];
            moved += 1;
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curation::Identities;

    #[test]
    fn ids_of_one_person_share_a_fold_and_others_keep_theirs() {
        let s = strata(100);
        let plain = person_folds(&s, 5, 7);
        // Pick three people of different folds and one alone.
        let a = 0;
        let b = (1..100).find(|&p| plain[p] != plain[a]).unwrap();
        let c = (1..100)
            .find(|&p| plain[p] != plain[a] && plain[p] != plain[b])
            .unwrap();
        let mut folds = plain.clone();
        let moved =
            keep_identities_together(&mut folds, &Identities::from_pairs(100, [(c, a), (b, c)]));
        assert_eq!(moved, 2);
        assert_eq!((folds[b], folds[c]), (folds[a], folds[a]));
        assert_eq!(folds[a], plain[a]);
        for p in (0..100).filter(|p| ![a, b, c].contains(p)) {
            assert_eq!(folds[p], plain[p], "person {p} moved");
        }
        // No decisions: nothing moves.
        let mut folds = plain.clone();
        assert_eq!(
            keep_identities_together(&mut folds, &Identities::from_pairs(100, [])),
            0
        );
        assert_eq!(folds, plain);
    }

    fn strata(n: usize) -> Vec<(Gender, AgeBin)> {
        (0..n)
            .map(|i| (Gender::ALL[i % 2], AgeBin::ALL[(i / 2) % 3]))
            .collect()
    }

    #[test]
    fn folds_are_balanced_and_stratified() {
        let s = strata(600);
        let folds = person_folds(&s, 5, 777);
        for f in 0..5 {
            let size = folds.iter().filter(|&&x| x == f).count();
            assert_eq!(size, 120);
            for g in Gender::ALL {
                for a in AgeBin::ALL {
                    let n = (0..600)
                        .filter(|&i| folds[i] == f && s[i] == (g, a))
                        .count();
                    assert_eq!(n, 20, "fold {f} stratum {g:?}/{a:?}");
                }
            }
        }
    }

    #[test]
    fn seed_decides_the_split_and_is_reproducible() {
        let s = strata(61);
        assert_eq!(person_folds(&s, 5, 777), person_folds(&s, 5, 777));
        assert_ne!(person_folds(&s, 5, 777), person_folds(&s, 5, 1));
        let folds = person_folds(&s, 5, 777);
        let sizes: Vec<usize> = (0..5)
            .map(|f| folds.iter().filter(|&&x| x == f).count())
            .collect();
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
    }
}
