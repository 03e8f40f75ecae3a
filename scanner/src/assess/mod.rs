//! The assessment stage: which advisory matches become reported
//! vulnerabilities ([`vulnerabilities`]), and what silences them and the
//! other verdicts: the ignore file ([`ignore`]) and VEX statements
//! ([`vex`]).

pub mod ignore;
pub mod vex;
pub mod vulnerabilities;
