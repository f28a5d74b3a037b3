//! What the front ends share above the core: requests an annotator or an engineer makes
//! that combine several core modules. The app (`ui/`) and the command line (`cli/`) both
//! call into it; it knows neither of them, and it draws and prints nothing itself (it
//! reports through the callbacks it is given).

pub mod demo;
pub mod eval;
pub mod queries;
pub mod session;
pub mod training;
pub mod weights;
pub mod worker;
