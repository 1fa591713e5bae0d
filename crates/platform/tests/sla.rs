//! The SLA on known dates (Asia/Shanghai): working hours, make-up working weekends, the
//! Spring Festival, batch times, overrides, years without data; and the holiday files against
//! the `chinese_holiday` crate.

mod common;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use platform::calendar::{china, CalendarError, DayKind, Sla, WorkCalendar};
use std::sync::Arc;

fn at(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect(s);
    Shanghai
        .from_local_datetime(&naive)
        .single()
        .expect("China time")
        .with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect(s)
}

/// (submitted, due) in China time, with the default SLA.
fn assert_due(cases: &[(&str, &str)]) {
    let sla = Sla::default();
    for (submitted, due) in cases {
        assert_eq!(sla.due(at(submitted)), at(due), "submitted {submitted}");
    }
}

#[test]
fn weekdays_in_hours_are_due_in_15_minutes() {
    assert_due(&[
        ("2026-03-04 09:00", "2026-03-04 09:15"), // Wednesday, at opening
        ("2026-03-04 12:30", "2026-03-04 12:45"), // lunch time is working time
        ("2026-03-04 17:59", "2026-03-04 18:14"), // accepted before closing: served today
    ]);
}

#[test]
fn before_opening_and_after_closing_wait_for_the_next_opening() {
    assert_due(&[
        ("2026-03-04 07:10", "2026-03-04 09:15"), // Wednesday morning
        ("2026-03-04 00:00", "2026-03-04 09:15"),
        ("2026-03-04 18:00", "2026-03-05 09:15"), // closing time is closed
        ("2026-03-04 23:30", "2026-03-05 09:15"),
        ("2026-03-06 19:00", "2026-03-07 10:00"), // Friday night → Saturday's first batch
    ]);
}

#[test]
fn a_normal_saturday_runs_on_batches() {
    assert_due(&[
        ("2026-03-07 08:00", "2026-03-07 10:00"),
        ("2026-03-07 10:00", "2026-03-07 14:00"), // a batch at that very minute has gone
        ("2026-03-07 13:59", "2026-03-07 14:00"),
        ("2026-03-07 16:30", "2026-03-07 17:00"),
        ("2026-03-07 17:30", "2026-03-08 10:00"), // Sunday's first batch
        ("2026-03-08 17:30", "2026-03-09 09:15"), // Sunday evening → Monday opening
    ]);
}

#[test]
fn saturday_2026_02_14_is_a_working_day() {
    let cal = WorkCalendar::builtin();
    assert_eq!(date("2026-02-14").weekday(), chrono::Weekday::Sat);
    assert_eq!(
        cal.day(date("2026-02-14")),
        DayKind::MakeUpWorkday("春节".into())
    );
    assert_due(&[
        ("2026-02-14 11:20", "2026-02-14 11:35"), // office hours, not a batch
        ("2026-02-14 08:00", "2026-02-14 09:15"),
        ("2026-02-14 18:30", "2026-02-15 10:00"), // then the festival begins
    ]);
}

#[test]
fn the_spring_festival_runs_on_batches_until_it_ends() {
    let cal = WorkCalendar::builtin();
    assert_eq!(cal.day(date("2026-02-17")), DayKind::Holiday("春节".into())); // Tuesday, 正月初一
    assert!(!cal.is_working_day(date("2026-02-23"))); // Monday, still off
    assert!(cal.is_working_day(date("2026-02-24")));
    assert_due(&[
        ("2026-02-17 09:30", "2026-02-17 10:00"), // a Tuesday, but a holiday
        ("2026-02-17 15:00", "2026-02-17 17:00"),
        ("2026-02-23 17:01", "2026-02-24 09:15"), // last day off, after the last batch
        ("2026-02-28 12:00", "2026-02-28 12:15"), // Saturday make-up day after the festival
    ]);
}

#[test]
fn national_day_and_its_make_up_sunday() {
    assert_due(&[
        ("2026-09-20 10:05", "2026-09-20 10:20"), // Sunday, worked for National Day
        ("2026-10-01 09:00", "2026-10-01 10:00"), // Thursday, holiday
        ("2026-10-10 17:50", "2026-10-10 18:05"), // Saturday, worked
    ]);
}

#[test]
fn batch_times_are_configurable() {
    let sla = Sla::default()
        .with_batch_times(&["11:30", "09:00"])
        .unwrap();
    assert_eq!(sla.due(at("2026-03-07 08:00")), at("2026-03-07 09:00"));
    assert_eq!(sla.due(at("2026-03-07 10:00")), at("2026-03-07 11:30"));
    assert_eq!(sla.due(at("2026-03-07 12:00")), at("2026-03-08 09:00"));
    // No batches at all: weekends wait for Monday.
    let none = Sla::default().with_batch_times(&[]).unwrap();
    assert_eq!(none.due(at("2026-03-07 08:00")), at("2026-03-09 09:15"));
    assert!(matches!(
        Sla::default().with_batch_times(&["25:00"]),
        Err(CalendarError::Sla(_))
    ));
}

#[test]
fn an_override_moves_a_day_and_can_add_a_year() {
    let mut cal = WorkCalendar::builtin();
    assert!(cal.is_working_day(date("2026-03-04")));
    assert!(!cal.covers(2027));
    cal.apply_override(
        r#"[{"year": 2026, "holidays": {"停电": ["2026-03-04"]}},
            {"year": 2027, "holidays": {"元旦": ["2027-01-01"]}, "workdays": {}}]"#,
    )
    .unwrap();
    assert_eq!(cal.day(date("2026-03-04")), DayKind::Holiday("停电".into()));
    assert!(cal.covers(2027));
    assert!(!cal.is_working_day(date("2027-01-01")));
    assert!(cal.is_working_day(date("2026-02-14")), "the rest is kept");
    let sla = Sla::new(Arc::new(cal));
    assert_eq!(sla.due(at("2026-03-04 09:30")), at("2026-03-04 10:00"));
}

#[test]
fn bad_override_files_are_refused_whole() {
    let mut cal = WorkCalendar::builtin();
    let bad = [
        r#"{"year": 2026, "holidays": {"x": ["2025-12-31"]}}"#,
        r#"{"year": 2026, "holidays": {"x": ["2026-05-09"]}, "workdays": {"x": ["2026-05-09"]}}"#,
        r#"{"year": 2026, "holidays": {"x": ["2026-13-01"]}}"#,
        r#"{"year": 2026, "holiday": {}}"#,
    ];
    for json in bad {
        assert!(cal.apply_override(json).is_err(), "{json}");
    }
    assert!(cal.is_working_day(date("2026-05-09")), "unchanged");
    let err = WorkCalendar::with_override_file(std::path::Path::new("/nonexistent/h.json"));
    assert!(matches!(err, Err(CalendarError::Io { .. })));
}

#[test]
fn a_year_without_data_falls_back_to_weekdays_and_is_reported() {
    let sla = Sla::default();
    assert!(!sla.calendar().covers(2027));
    // 2027-01-01 is a Friday: a working day by the fallback, though surely a holiday.
    assert!(sla.calendar().is_working_day(date("2027-01-01")));
    assert_eq!(sla.due(at("2027-01-01 10:00")), at("2027-01-01 10:15"));
    assert_eq!(sla.missing_years(at("2026-06-01 12:00")), Vec::<i32>::new());
    assert_eq!(sla.missing_years(at("2026-12-01 12:00")), vec![2027]);
    assert_eq!(sla.missing_years(at("2027-03-01 12:00")), vec![2027]);
    // 2026-12-31 16:30 UTC is already 2027 in China.
    let utc = Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap();
    assert_eq!(sla.missing_years(utc), vec![2027]);
}

#[tokio::test]
async fn submit_and_resubmit_take_their_due_time_from_the_sla() {
    let env = common::env().await;
    env.clock.set(at("2026-02-17 09:30"));
    let app = env.app(10_000, false).await;
    let o = env.submit(&app).await;
    assert_eq!(o.sla_due_at, at("2026-02-17 10:00"));
    assert_eq!(
        env.p.sla_due(at("2026-02-14 11:20")),
        at("2026-02-14 11:35")
    );
    env.clock.set(at("2026-02-24 08:00"));
    let o = env.p.take(&o.order_no, "rev").await.unwrap();
    let o = env.p.reject(&o.order_no, "rev", "blurred").await.unwrap();
    let pic = env.pic(&app).await;
    let o = env
        .p
        .resubmit(&app, &o.order_no, common::submission(&pic.pic_id))
        .await
        .unwrap();
    assert_eq!(o.sla_due_at, at("2026-02-24 09:15"));
    assert!(env.p.calendar_gaps().is_empty());
    env.clock.set(at("2027-02-01 12:00"));
    assert_eq!(env.p.calendar_gaps(), vec![2027]);
}

/// Every day of the holiday files agrees with the `chinese_holiday` crate (which covers up to
/// 2026-12-25).
#[test]
fn the_holiday_files_agree_with_the_chinese_holiday_crate() {
    let cal = WorkCalendar::builtin();
    assert_eq!(cal.years(), vec![2025, 2026]);
    let mut d = date("2025-01-01");
    let mut make_up = 0;
    while d <= date("2026-12-25") {
        let ymd = (d.year() as u16, d.month() as u8, d.day() as u8);
        let theirs = chinese_holiday::chinese_holiday(ymd).is_workday();
        assert_eq!(cal.is_working_day(d), theirs, "{d}");
        make_up += usize::from(matches!(cal.day(d), DayKind::MakeUpWorkday(_)));
        d += TimeDelta::days(1);
    }
    assert_eq!(make_up, 5 + 6, "make-up days: 2025 has 5, 2026 has 6");
}

#[test]
fn china_time_is_utc_plus_8() {
    let t = china(
        date("2026-02-14"),
        chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    );
    assert_eq!(t, Utc.with_ymd_and_hms(2026, 2, 14, 1, 0, 0).unwrap());
}
