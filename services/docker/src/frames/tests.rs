use super::*;
use warp_jobs::lines::TRUNCATED;

const T1: &str = "2024-05-01T10:00:00.100000000Z ";
const T2: &str = "2024-05-01T10:00:02.200000000Z ";

fn frame(ts: &str, payload: &[u8]) -> Vec<u8> {
    [ts.as_bytes(), payload].concat()
}

fn at(ts: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(ts.trim()).unwrap().with_timezone(&Utc)
}

#[test]
fn a_line_docker_split_into_16_kib_frames_arrives_as_one_line_with_its_first_timestamp() {
    let mut a = LineAssembler::new(AnsiMode::Keep);
    let part = vec![b'x'; 16 * 1024];
    assert!(a.push(LogStream::Stdout, &frame(T1, &part)).is_empty());
    assert!(a.push(LogStream::Stdout, &frame(T1, &part)).is_empty());
    let tail = [vec![b'x'; 40_000 - 2 * 16 * 1024], b"\n".to_vec()].concat();
    let lines = a.push(LogStream::Stdout, &frame(T2, &tail));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, "x".repeat(40_000));
    assert_eq!(lines[0].timestamp, at(T1));
}

#[test]
fn a_line_longer_than_64_kib_is_cut_with_a_visible_marker() {
    let mut a = LineAssembler::new(AnsiMode::Keep);
    for _ in 0..5 {
        a.push(LogStream::Stdout, &frame(T1, &vec![b'y'; 16 * 1024]));
    }
    let lines = a.push(LogStream::Stdout, &frame(T1, b"yyy\nnext\n"));
    assert_eq!(lines.len(), 2);
    assert!(lines[0].text.ends_with(TRUNCATED));
    assert_eq!(lines[0].text.len(), MAX_LINE_BYTES + TRUNCATED.len());
    assert_eq!(lines[1].text, "next");
}

#[test]
fn a_bare_carriage_return_ends_a_line_and_crlf_ends_only_one() {
    let mut a = LineAssembler::new(AnsiMode::Keep);
    let lines = a.push(LogStream::Stdout, &frame(T1, b"10%\r50%\r100%\r\n"));
    let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["10%", "50%", "100%"]);
}

#[test]
fn invalid_utf8_is_replaced_and_the_stream_goes_on() {
    let mut a = LineAssembler::new(AnsiMode::Keep);
    let lines = a.push(LogStream::Stderr, &frame(T1, b"bad \xff\xfe byte\n"));
    assert_eq!(lines[0].text, "bad \u{fffd}\u{fffd} byte");
    assert_eq!(lines[0].stream, LogStream::Stderr);
    assert_eq!(a.push(LogStream::Stderr, &frame(T2, b"fine\n"))[0].text, "fine");
}

#[test]
fn colour_codes_are_kept_by_default_and_removed_with_strip() {
    let coloured = frame(T1, b"\x1b[31mred\x1b[0m plain\n");
    assert_eq!(LineAssembler::new(AnsiMode::Keep).push(LogStream::Stdout, &coloured)[0].text, "\x1b[31mred\x1b[0m plain");
    assert_eq!(LineAssembler::new(AnsiMode::Strip).push(LogStream::Stdout, &coloured)[0].text, "red plain");
}

#[test]
fn stdout_and_stderr_are_joined_separately_and_finish_flushes_both() {
    let mut a = LineAssembler::new(AnsiMode::Keep);
    assert!(a.push(LogStream::Stdout, &frame(T1, b"out-")).is_empty());
    assert!(a.push(LogStream::Stderr, &frame(T1, b"err-")).is_empty());
    assert_eq!(a.push(LogStream::Stdout, &frame(T2, b"done\n"))[0].text, "out-done");
    let rest = a.finish();
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].stream, rest[0].text.as_str(), rest[0].timestamp), (LogStream::Stderr, "err-", at(T1)));
}

#[test]
fn a_payload_without_a_timestamp_is_kept_whole() {
    let (time, rest) = split_timestamp(b"hello world\n");
    assert!(time.is_none());
    assert_eq!(rest, b"hello world\n");
}
