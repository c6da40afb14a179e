//! The packaging child's protocol (`packager::job`): progress then exactly one last event,
//! refusals as events, bounded input and lines. (Run in this process unconfined; the limits
//! themselves are tested through the child binary in market-api's `roles` tests.)

use std::path::PathBuf;

use licence_net_protocol::Address;
use packager::job::{
    parse_event, read_events, run_unconfined as run, FailureKind, JobError, JobEvent, JobSpec,
    Limits, MAX_EVENT_LINE, MAX_SPEC_BYTES,
};
use packager_format::ContentKind;

fn group_json(dir: &std::path::Path) -> String {
    licence_net::dealer::deal(5, 3, &dir.join("keys"))
        .unwrap()
        .group
        .to_json()
}

fn spec(input: PathBuf, output: PathBuf, group_key: String) -> JobSpec {
    JobSpec {
        input,
        output,
        group_key,
        renderers: vec![[7u8; 32]],
        title: Some("Notes".into()),
        creator: "Ada".into(),
        creator_account: Address::repeat_byte(0x11),
        as_data: true,
        description: Some("Plain notes".into()),
        thumbnail: None,
        preview: None,
        limits: Limits {
            memory_bytes: 1 << 30,
            cpu_seconds: 60,
            file_bytes: 64 << 20,
            open_files: 64,
        },
    }
}

#[test]
fn a_data_job_reports_progress_then_done_with_the_packages_identity() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.txt");
    std::fs::write(&input, vec![b'x'; 3 * 1024 * 1024 + 5]).unwrap();
    let output = dir.path().join("notes.ddrm");
    let job = serde_json::to_vec(&spec(input, output.clone(), group_json(dir.path()))).unwrap();
    let mut out = Vec::new();
    run(&job[..], &mut out).unwrap();
    let events = read_events(&out[..]).unwrap();
    let (last, progress) = events.split_last().unwrap();
    assert!(
        !progress.is_empty(),
        "no progress before the end: {events:?}"
    );
    assert!(progress
        .iter()
        .all(|e| matches!(e, JobEvent::Progress { total, .. } if *total == 3 * 1024 * 1024 + 5)));
    let JobEvent::Done(report) = last else {
        panic!("ended with {last:?}")
    };
    let inspected = packager::inspect(&output).unwrap();
    assert_eq!(report.content_id, inspected.content_id);
    assert_eq!(report.kind, ContentKind::Data);
    assert_eq!(report.input_bytes, 3 * 1024 * 1024 + 5);
    assert_eq!(
        report.output_bytes,
        std::fs::metadata(&output).unwrap().len()
    );
    assert_eq!(
        inspected.header.metadata.extra,
        vec![("description".to_owned(), "Plain notes".to_owned())]
    );
}

#[test]
fn a_refused_input_ends_in_a_failed_event_not_a_silent_exit() {
    let dir = tempfile::tempdir().unwrap();
    let job = spec(
        dir.path().join("absent.bin"),
        dir.path().join("o.ddrm"),
        group_json(dir.path()),
    );
    let mut out = Vec::new();
    run(&serde_json::to_vec(&job).unwrap()[..], &mut out).unwrap();
    let events = read_events(&out[..]).unwrap();
    assert!(
        matches!(events.last(), Some(JobEvent::Failed { kind: FailureKind::Other, message }) if message.contains("absent.bin")),
        "{events:?}"
    );
    assert!(!dir.path().join("o.ddrm").exists());
}

#[test]
fn a_malformed_or_oversized_spec_is_refused_with_a_failed_event() {
    for input in [
        b"{\"input\": 1}".to_vec(),
        vec![b' '; MAX_SPEC_BYTES as usize + 1],
    ] {
        let mut out = Vec::new();
        assert!(matches!(run(&input[..], &mut out), Err(JobError::Spec(_))));
        let events = read_events(&out[..]).unwrap();
        assert!(matches!(
            events[..],
            [JobEvent::Failed {
                kind: FailureKind::Other,
                ..
            }]
        ));
    }
}

#[test]
fn event_lines_are_bounded_and_typed() {
    assert!(parse_event(&vec![b'x'; MAX_EVENT_LINE + 1]).is_err());
    assert!(parse_event(b"{\"progress\":{\"done\":1,\"total\":2,\"extra\":3}}").is_err());
    assert!(matches!(
        parse_event(b"{\"progress\":{\"done\":1,\"total\":2}}"),
        Ok(JobEvent::Progress { done: 1, total: 2 })
    ));
    assert!(read_events(&b"{\"progress\":{\"done\":1,\"total\":2}}\n"[..]).is_err());
}
