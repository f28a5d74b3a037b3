//! The label encoding of the dataset: mask (per photo), gender and age (per person), and
//! the 18-class code `class = mask * 6 + gender * 3 + age_bin` (official encoding).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the mask is worn in one photo. It comes from the file stem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Mask {
    Wear = 0,
    Incorrect = 1,
    NotWear = 2,
}

/// The person's gender as labelled (male = 0, female = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Gender {
    Male = 0,
    Female = 1,
}

/// The three age bins: `< 30`, `30 <= age < 60`, `>= 60`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AgeBin {
    Young = 0,
    Middle = 1,
    Old = 2,
}

/// Which of the three label fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    Mask,
    Gender,
    Age,
}

/// One of the 18 classes, `mask * 6 + gender * 3 + age_bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClassCode(u8);

pub const NUM_CLASSES: usize = 18;

impl Mask {
    pub const ALL: [Mask; 3] = [Mask::Wear, Mask::Incorrect, Mask::NotWear];

    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
    pub fn name(self) -> &'static str {
        match self {
            Mask::Wear => "wear",
            Mask::Incorrect => "incorrect",
            Mask::NotWear => "not wear",
        }
    }
    /// The label that a photo's file stem implies (`mask1`..`mask5`, `incorrect_mask`, `normal`).
    pub fn from_stem(stem: &str) -> Option<Self> {
        match stem {
            "mask1" | "mask2" | "mask3" | "mask4" | "mask5" => Some(Mask::Wear),
            "incorrect_mask" => Some(Mask::Incorrect),
            "normal" => Some(Mask::NotWear),
            _ => None,
        }
    }
}

impl Gender {
    pub const ALL: [Gender; 2] = [Gender::Male, Gender::Female];

    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
    /// The word used in train.csv and in folder names.
    pub fn name(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        }
    }
    pub fn flipped(self) -> Self {
        match self {
            Gender::Male => Gender::Female,
            Gender::Female => Gender::Male,
        }
    }
}

impl AgeBin {
    pub const ALL: [AgeBin; 3] = [AgeBin::Young, AgeBin::Middle, AgeBin::Old];

    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
    /// The official bins: `< 30`, `30..60`, `>= 60`.
    pub fn from_years(age: u32) -> Self {
        Self::from_years_with_old_from(age, 60)
    }
    /// Like [`AgeBin::from_years`] but with the old boundary moved (training recipes treat
    /// 58+ or 59+ as old).
    pub fn from_years_with_old_from(age: u32, old_from: u32) -> Self {
        if age < 30 {
            AgeBin::Young
        } else if age < old_from {
            AgeBin::Middle
        } else {
            AgeBin::Old
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            AgeBin::Young => "<30",
            AgeBin::Middle => "30-59",
            AgeBin::Old => ">=60",
        }
    }
    /// A representative age in years for a bin, used when a correction sets only the bin.
    pub fn representative_years(self) -> u32 {
        match self {
            AgeBin::Young => 25,
            AgeBin::Middle => 45,
            AgeBin::Old => 60,
        }
    }
}

impl Field {
    pub const ALL: [Field; 3] = [Field::Mask, Field::Gender, Field::Age];

    pub fn name(self) -> &'static str {
        match self {
            Field::Mask => "mask",
            Field::Gender => "gender",
            Field::Age => "age",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mask" => Some(Field::Mask),
            "gender" => Some(Field::Gender),
            "age" => Some(Field::Age),
            _ => None,
        }
    }
    /// Number of classes of this field.
    pub fn num_classes(self) -> usize {
        match self {
            Field::Mask | Field::Age => 3,
            Field::Gender => 2,
        }
    }
    /// The display name of class `i` of this field.
    pub fn class_name(self, i: usize) -> &'static str {
        match self {
            Field::Mask => Mask::from_index(i).map_or("?", Mask::name),
            Field::Gender => Gender::from_index(i).map_or("?", Gender::name),
            Field::Age => AgeBin::from_index(i).map_or("?", AgeBin::name),
        }
    }
}

impl ClassCode {
    pub fn new(mask: Mask, gender: Gender, age: AgeBin) -> Self {
        ClassCode((mask as u8) * 6 + (gender as u8) * 3 + age as u8)
    }
    pub fn from_index(i: usize) -> Option<Self> {
        (i < NUM_CLASSES).then_some(ClassCode(i as u8))
    }
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub fn mask(self) -> Mask {
        Mask::ALL[(self.0 / 6) as usize]
    }
    pub fn gender(self) -> Gender {
        Gender::ALL[((self.0 % 6) / 3) as usize]
    }
    pub fn age(self) -> AgeBin {
        AgeBin::ALL[(self.0 % 3) as usize]
    }
    /// The class's value in the given field.
    pub fn field_index(self, field: Field) -> usize {
        match field {
            Field::Mask => self.mask().index(),
            Field::Gender => self.gender().index(),
            Field::Age => self.age().index(),
        }
    }
    /// Short human name, e.g. `wear/female/30-59`.
    pub fn describe(self) -> String {
        format!(
            "{}/{}/{}",
            self.mask().name(),
            self.gender().name(),
            self.age().name()
        )
    }
}

impl fmt::Display for ClassCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_encoding_round_trips_all_18_classes() {
        for i in 0..NUM_CLASSES {
            let c = ClassCode::from_index(i).unwrap();
            assert_eq!(ClassCode::new(c.mask(), c.gender(), c.age()), c);
        }
        assert!(ClassCode::from_index(18).is_none());
        // Spot checks against the official table.
        assert_eq!(
            ClassCode::new(Mask::Wear, Gender::Male, AgeBin::Young).index(),
            0
        );
        assert_eq!(
            ClassCode::new(Mask::Wear, Gender::Female, AgeBin::Middle).index(),
            4
        );
        assert_eq!(
            ClassCode::new(Mask::Incorrect, Gender::Male, AgeBin::Old).index(),
            8
        );
        assert_eq!(
            ClassCode::new(Mask::NotWear, Gender::Female, AgeBin::Old).index(),
            17
        );
    }

    #[test]
    fn age_bins_follow_the_official_boundaries() {
        assert_eq!(AgeBin::from_years(18), AgeBin::Young);
        assert_eq!(AgeBin::from_years(29), AgeBin::Young);
        assert_eq!(AgeBin::from_years(30), AgeBin::Middle);
        assert_eq!(AgeBin::from_years(59), AgeBin::Middle);
        assert_eq!(AgeBin::from_years(60), AgeBin::Old);
        assert_eq!(AgeBin::from_years_with_old_from(58, 58), AgeBin::Old);
        assert_eq!(AgeBin::from_years_with_old_from(57, 58), AgeBin::Middle);
    }

    #[test]
    fn stems_map_to_mask_labels() {
        assert_eq!(Mask::from_stem("mask3"), Some(Mask::Wear));
        assert_eq!(Mask::from_stem("incorrect_mask"), Some(Mask::Incorrect));
        assert_eq!(Mask::from_stem("normal"), Some(Mask::NotWear));
        assert_eq!(Mask::from_stem("mask6"), None);
        assert_eq!(Gender::parse(" Female"), Some(Gender::Female));
        assert_eq!(Gender::parse("f"), None);
    }
}
