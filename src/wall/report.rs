//! `wallwatch report`: days, ice and cost of a whole wall under one crew rule, as a table,
//! as JSON, or as the crews' log.

use std::io::{self, Write};

use serde::Serialize;

use crate::text::{Columns, thousands};
use crate::wall::{COST_PER_FOOT, Crews, Ledger, Schedule, Wall, Works};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `None` for one crew per section.
    pub crews: Option<u32>,
    pub profiles: usize,
    pub sections: usize,
    pub days_to_finish: u64,
    pub total_ice: u64,
    pub total_cost: u64,
    pub per_profile: Vec<ProfileSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<DayRow>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileSummary {
    pub profile: usize,
    pub sections: usize,
    pub days_to_finish: u64,
    pub ice: u64,
    pub cost: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayRow {
    pub day: u64,
    pub ice_per_profile: Vec<u64>,
    pub ice: u64,
    pub cost: u64,
    pub cost_to_date: u64,
}

/// The whole run's schedule for `crews`.
pub fn schedule(wall: &Wall, crews: Crews) -> Schedule {
    match crews {
        Crews::Unlimited => Schedule::unlimited(wall),
        Crews::Limited(n) => Schedule::with_crews(wall, n),
    }
}

impl Report {
    pub fn new(wall: &Wall, crews: Crews, daily: bool) -> Report {
        let schedule = schedule(wall, crews);
        let ledger = Ledger::new(wall, &schedule);
        let per_profile = (0..wall.profiles())
            .map(|p| ProfileSummary {
                profile: p + 1,
                sections: wall.profile(p).len(),
                days_to_finish: ledger.profile_days_to_finish(p),
                ice: ledger.profile_total_ice(p),
                cost: ledger.profile_total_cost(p),
            })
            .collect();
        let daily = daily.then(|| {
            (1..=ledger.days_to_finish())
                .map(|day| {
                    let ice = ledger.ice_on(day);
                    DayRow {
                        day,
                        ice_per_profile: (0..wall.profiles())
                            .map(|p| ledger.profile_ice_on(p, day))
                            .collect(),
                        ice,
                        cost: ice / crate::wall::ICE_PER_FOOT * COST_PER_FOOT,
                        cost_to_date: ledger.cost_up_to(day),
                    }
                })
                .collect()
        });
        Report {
            crews: schedule.crews(),
            profiles: wall.profiles(),
            sections: wall.sections(),
            days_to_finish: ledger.days_to_finish(),
            total_ice: ledger.total_ice(),
            total_cost: ledger.total_cost(),
            per_profile,
            daily,
        }
    }

    /// A readable table with thousands separators.
    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        let crews = match self.crews {
            None => "one crew per section".to_string(),
            Some(1) => "1 crew".to_string(),
            Some(n) => format!("{} crews", thousands(u64::from(n))),
        };
        writeln!(
            out,
            "Wall: {} profiles, {} sections, {crews}",
            thousands(self.profiles as u64),
            thousands(self.sections as u64)
        )?;
        writeln!(
            out,
            "Done on day {}: {} cubic yards of ice, {} Gold Dragons",
            thousands(self.days_to_finish),
            thousands(self.total_ice),
            thousands(self.total_cost)
        )?;
        writeln!(out)?;
        let rows: Vec<[String; 5]> = self
            .per_profile
            .iter()
            .map(|p| {
                [
                    thousands(p.profile as u64),
                    thousands(p.sections as u64),
                    thousands(p.days_to_finish),
                    thousands(p.ice),
                    thousands(p.cost),
                ]
            })
            .chain(std::iter::once([
                "total".to_string(),
                thousands(self.sections as u64),
                thousands(self.days_to_finish),
                thousands(self.total_ice),
                thousands(self.total_cost),
            ]))
            .collect();
        write_columns(
            out,
            &["profile", "sections", "days", "ice (yd³)", "cost (GD)"],
            &rows,
        )?;
        if let Some(daily) = &self.daily {
            writeln!(out)?;
            let rows: Vec<[String; 5]> = daily
                .iter()
                .map(|d| {
                    let per_profile = d
                        .ice_per_profile
                        .iter()
                        .map(|&i| thousands(i))
                        .collect::<Vec<_>>()
                        .join(" ");
                    [
                        thousands(d.day),
                        thousands(d.ice),
                        thousands(d.cost),
                        thousands(d.cost_to_date),
                        per_profile,
                    ]
                })
                .collect();
            write_columns(
                out,
                &[
                    "day",
                    "ice (yd³)",
                    "cost (GD)",
                    "cost to date",
                    "ice per profile",
                ],
                &rows,
            )?;
        }
        Ok(())
    }
}

/// A row's cells as text.
fn cells<const N: usize>(row: &[String; N]) -> [&str; N] {
    std::array::from_fn(|i| row[i].as_str())
}

/// Right-aligned columns.
fn write_columns<const N: usize>(
    out: &mut dyn Write,
    header: &[&str; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut columns = Columns::new([true; N]);
    columns.fit(*header);
    for row in rows {
        columns.fit(cells(row));
    }
    writeln!(out, "{}", columns.line(*header))?;
    for row in rows {
        writeln!(out, "{}", columns.line(cells(row)))?;
    }
    Ok(())
}

/// The crews' log of the whole run, one line per crew per day worked, then the relief lines.
pub fn write_log(wall: &Wall, crews: Crews, out: &mut dyn Write) -> io::Result<()> {
    let mut site = Works::new(wall.clone(), crews);
    let mut day = Vec::new();
    while !site.is_done() {
        site.step_into(&mut day);
        for work in &day {
            writeln!(out, "{work}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wall::EXAMPLE_PROFILES;

    fn example() -> Wall {
        Wall::parse(EXAMPLE_PROFILES.as_bytes(), 2000).unwrap()
    }

    #[test]
    fn daily_rows_add_up_to_the_totals() {
        let r = Report::new(&example(), Crews::Limited(3), true);
        let daily = r.daily.as_ref().unwrap();
        assert_eq!(daily.len(), 31);
        assert_eq!(daily.iter().map(|d| d.ice).sum::<u64>(), r.total_ice);
        assert_eq!(daily.last().unwrap().cost_to_date, r.total_cost);
        for d in daily {
            assert_eq!(d.ice_per_profile.iter().sum::<u64>(), d.ice);
        }
    }

    #[test]
    fn table_reads_well() {
        let mut out = Vec::new();
        Report::new(&example(), Crews::Unlimited, false)
            .write_table(&mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\
Wall: 3 profiles, 9 sections, one crew per section
Done on day 13: 16,965 cubic yards of ice, 32,233,500 Gold Dragons

profile  sections  days  ice (yd³)   cost (GD)
      1         3     9      3,120   5,928,000
      2         1    13      2,535   4,816,500
      3         5    13     11,310  21,489,000
  total         9    13     16,965  32,233,500
";
        assert_eq!(text, expected);
    }

    #[test]
    fn log_ends_with_relief() {
        let mut out = Vec::new();
        write_log(&example(), Crews::Limited(1), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 88);
        assert_eq!(
            text.lines().last(),
            Some("day 88 · crew 1 · relieved (no sections left)")
        );
    }
}
