//! Working days in mainland China and the review SLA.
//!
//! [`WorkCalendar`]: public holidays and make-up working weekends (调休) from yearly data files
//! (`data/holidays/YYYY.json`, compiled in) plus an optional override file. [`Sla`]: when an
//! order is due, in Asia/Shanghai time:
//! - on a working day, from opening (09:00) to closing (18:00), 15 minutes after submission;
//!   before opening, 15 minutes after opening; a submission before closing is served that day;
//! - on a non-working day, at the next batch time (default 10:00, 14:00, 17:00);
//! - after closing or the last batch, at the next day's first service (opening + 15 minutes on
//!   a working day, the first batch otherwise).
//!
//! A year without data falls back to Monday–Friday and is logged once as a warning;
//! [`Sla::missing_years`] lists those the service is about to need.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The yearly files compiled in.
const BUILTIN: [&str; 2] = [
    include_str!("../data/holidays/2025.json"),
    include_str!("../data/holidays/2026.json"),
];

/// How far ahead [`Sla::due`] looks for the next service before giving up.
const HORIZON_DAYS: u32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday data: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("holiday data for {year}: {date} is not in that year")]
    WrongYear { year: i32, date: NaiveDate },
    #[error("holiday data: {0} is listed both as a holiday and as a working day")]
    Both(NaiveDate),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("SLA: {0}")]
    Sla(String),
}

/// One year's notice: days off and make-up working days, by festival name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    pub year: i32,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub holidays: BTreeMap<String, Vec<NaiveDate>>,
    #[serde(default)]
    pub workdays: BTreeMap<String, Vec<NaiveDate>>,
}

/// What a date is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// Monday–Friday without a holiday.
    Workday,
    /// Saturday or Sunday without a make-up working day.
    Weekend,
    /// A public holiday, with its festival's name.
    Holiday(String),
    /// A weekend day worked in exchange for a holiday (调休上班).
    MakeUpWorkday(String),
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday(_))
    }
}

/// Working days: the explicit days of the covered years, weekdays elsewhere.
#[derive(Debug, Default)]
pub struct WorkCalendar {
    days: HashMap<NaiveDate, DayKind>,
    years: BTreeSet<i32>,
    warned: Mutex<HashSet<i32>>,
}

impl WorkCalendar {
    /// The years compiled in (2025, 2026).
    pub fn builtin() -> WorkCalendar {
        let mut cal = WorkCalendar::default();
        for text in BUILTIN {
            // The compiled-in files are checked by the tests; a bad one is a build defect.
            match parse_years(text) {
                Ok(years) => years.iter().for_each(|y| cal.apply(y)),
                Err(e) => tracing::error!(error = %e, "built-in holiday data"),
            }
        }
        cal
    }

    /// The built-in years with an operator's override file on top (see `data/holidays/README.md`).
    pub fn with_override_file(path: &Path) -> Result<WorkCalendar, CalendarError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut cal = WorkCalendar::builtin();
        cal.apply_override(&text)?;
        Ok(cal)
    }

    /// Applies overrides (one year object or an array): their days win, their years count as
    /// covered. Nothing changes on error.
    pub fn apply_override(&mut self, json: &str) -> Result<(), CalendarError> {
        let years = parse_years(json)?;
        for y in &years {
            self.apply(y);
        }
        Ok(())
    }

    fn apply(&mut self, y: &HolidayYear) {
        for (name, dates) in &y.holidays {
            for d in dates {
                self.days.insert(*d, DayKind::Holiday(name.clone()));
            }
        }
        for (name, dates) in &y.workdays {
            for d in dates {
                self.days.insert(*d, DayKind::MakeUpWorkday(name.clone()));
            }
        }
        self.years.insert(y.year);
    }

    /// True when the calendar has the year's holiday notice.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// What `date` is. For a year without data: weekdays work, and a warning is logged once.
    pub fn day(&self, date: NaiveDate) -> DayKind {
        if let Some(kind) = self.days.get(&date) {
            return kind.clone();
        }
        if !self.covers(date.year()) {
            self.warn_missing(date.year());
        }
        match date.weekday() {
            Weekday::Sat | Weekday::Sun => DayKind::Weekend,
            _ => DayKind::Workday,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day(date).is_working()
    }

    fn warn_missing(&self, year: i32) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(year) {
            tracing::warn!(
                year,
                "NO HOLIDAY DATA for {year}: SLAs assume Monday–Friday working days; add \
                 data/holidays/{year}.json or an override file (--holidays)"
            );
        }
    }
}

/// One year object, or an array of them; every date inside its year, none listed twice.
fn parse_years(json: &str) -> Result<Vec<HolidayYear>, CalendarError> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    let years: Vec<HolidayYear> = match value {
        serde_json::Value::Array(_) => serde_json::from_value(value)?,
        _ => vec![serde_json::from_value(value)?],
    };
    for y in &years {
        let mut off = HashSet::new();
        for d in y.holidays.values().flatten() {
            check_year(y.year, *d)?;
            off.insert(*d);
        }
        for d in y.workdays.values().flatten() {
            check_year(y.year, *d)?;
            if off.contains(d) {
                return Err(CalendarError::Both(*d));
            }
        }
    }
    Ok(years)
}

fn check_year(year: i32, date: NaiveDate) -> Result<(), CalendarError> {
    if date.year() == year {
        Ok(())
    } else {
        Err(CalendarError::WrongYear { year, date })
    }
}

/// The review SLA: opening hours on working days, batch times on the other days.
#[derive(Debug, Clone)]
pub struct Sla {
    calendar: Arc<WorkCalendar>,
    opens: NaiveTime,
    closes: NaiveTime,
    response: TimeDelta,
    /// Sorted, distinct.
    batches: Vec<NaiveTime>,
}

impl Default for Sla {
    fn default() -> Self {
        Sla::new(Arc::new(WorkCalendar::builtin()))
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Sla {
    /// 09:00–18:00, 15 minutes, batches at 10:00, 14:00 and 17:00.
    pub fn new(calendar: Arc<WorkCalendar>) -> Sla {
        Sla {
            calendar,
            opens: hm(9, 0),
            closes: hm(18, 0),
            response: TimeDelta::minutes(15),
            batches: vec![hm(10, 0), hm(14, 0), hm(17, 0)],
        }
    }

    /// Replaces the batch times of non-working days (`HH:MM` each; none at all means those
    /// days are skipped).
    pub fn with_batch_times(mut self, times: &[&str]) -> Result<Sla, CalendarError> {
        let mut parsed = times
            .iter()
            .map(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .map_err(|_| CalendarError::Sla(format!("batch time `{t}` is not HH:MM")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort();
        parsed.dedup();
        self.batches = parsed;
        Ok(self)
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    pub fn batch_times(&self) -> &[NaiveTime] {
        &self.batches
    }

    /// When an order submitted at `submitted` is due (see the module docs).
    pub fn due(&self, submitted: DateTime<Utc>) -> DateTime<Utc> {
        let local = submitted.with_timezone(&Shanghai);
        let mut date = local.date_naive();
        let mut after = Some(local.time());
        for _ in 0..HORIZON_DAYS {
            if let Some(t) = self.service_on(date, after) {
                return t;
            }
            date = date.succ_opt().unwrap_or(date);
            after = None;
        }
        tracing::error!(%submitted, "no service time in {HORIZON_DAYS} days; due in 15 minutes");
        submitted + self.response
    }

    /// The first due time on `date` for a submission at `after` (None: before the day began).
    fn service_on(&self, date: NaiveDate, after: Option<NaiveTime>) -> Option<DateTime<Utc>> {
        if self.calendar.is_working_day(date) {
            let start = after.map_or(self.opens, |t| t.max(self.opens));
            return (start < self.closes).then(|| china(date, start) + self.response);
        }
        self.batches
            .iter()
            .find(|b| after.is_none_or(|t| **b > t))
            .map(|b| china(date, *b))
    }

    /// Years without holiday data that the SLA needs now: this year (China time), and the next
    /// one from December on. For the console's warning banner.
    pub fn missing_years(&self, now: DateTime<Utc>) -> Vec<i32> {
        let today = now.with_timezone(&Shanghai).date_naive();
        let mut years = vec![today.year()];
        if today.month() == 12 {
            years.push(today.year() + 1);
        }
        years.retain(|y| !self.calendar.covers(*y));
        years
    }
}

/// `date` at `time` in China, as UTC. (China has had no daylight saving since 1991.)
pub fn china(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match Shanghai.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&(naive - TimeDelta::hours(8))),
    }
}
