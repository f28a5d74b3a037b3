//! K-fold split by person, stratified by gender x age bin, seeded. All photos of a person
//! fall in one fold, so validation never sees a face it trained on. Pure: no torch.

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

#[cfg(test)]
mod tests {
    use super::*;

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
