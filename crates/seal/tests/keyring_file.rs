//! The keyring file: save/load round trip, permissions, and one-line
//! errors that name the path and the line.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rumor_seal::{Key, Keyring, MAX_FILE_LEN, SealError, generate_key};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn keys(n: usize) -> Vec<Key> {
    (0..n).map(|_| generate_key().unwrap()).collect()
}

fn lines_of(keys: &[Key]) -> String {
    keys.iter().map(|k| k.to_base64() + "\n").collect()
}

/// Loads and returns the error's message, checking it is one line naming
/// the path.
fn load_error(path: &Path) -> String {
    let message = Keyring::load(path).unwrap_err().to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

#[test]
fn save_then_load_round_trips_with_mode_0600() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("keys");
    let ring = Keyring::from_keys(keys(3)).unwrap();
    ring.save(&path).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(Keyring::load(&path).unwrap(), ring);

    // Rewriting replaces the file, and its mode, atomically; no temporary
    // file is left behind.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut changed = ring.clone();
    let new = generate_key().unwrap();
    changed.install(new.clone()).unwrap();
    changed.use_key(&new).unwrap();
    changed.save(&path).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(Keyring::load(&path).unwrap(), changed);
    assert_eq!(Keyring::load(&path).unwrap().primary(), &new);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keys"]);
}

#[test]
fn save_into_a_missing_directory_names_the_path() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("absent").join("keys");
    let error = Keyring::new(generate_key().unwrap())
        .save(&path)
        .unwrap_err();
    assert!(matches!(error, SealError::Write { .. }));
    assert!(error.to_string().contains(&path.display().to_string()));
}

#[test]
fn group_or_other_access_is_refused_with_the_fix() {
    let dir = TempDir::new().unwrap();
    let text = lines_of(&keys(1));
    for mode in [0o644, 0o640, 0o604, 0o610, 0o601] {
        let path = write(&dir, "keys", &text, mode);
        let message = load_error(&path);
        assert!(message.contains(&format!("{mode:04o}")), "{message}");
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
    }
}

#[test]
fn owner_only_modes_are_accepted() {
    let dir = TempDir::new().unwrap();
    let written = keys(2);
    for mode in [0o600, 0o400] {
        let path = write(&dir, &format!("keys-{mode:o}"), &lines_of(&written), mode);
        let ring = Keyring::load(&path).unwrap();
        assert_eq!(ring.keys(), &written[..]);
    }
}

#[test]
fn comments_blank_lines_and_crlf_are_ignored() {
    let dir = TempDir::new().unwrap();
    let written = keys(2);
    let text = format!(
        "# cluster keys\n\n  {}  \r\n# old key, remove after rotation\n{}\n\n",
        written[0].to_base64(),
        written[1].to_base64()
    );
    let path = write(&dir, "keys", &text, 0o600);
    let ring = Keyring::load(&path).unwrap();
    assert_eq!(ring.primary(), &written[0]);
    assert_eq!(ring.keys(), &written[..]);
}

#[test]
fn a_bad_line_is_named_by_number() {
    let dir = TempDir::new().unwrap();
    let good = lines_of(&keys(1));
    let path = write(
        &dir,
        "keys",
        &format!("# comment\n{good}not-base64!\n"),
        0o600,
    );
    let message = load_error(&path);
    assert!(message.contains("line 3: bad key: not base64"), "{message}");

    let short = "AAAAAAAAAAAAAAAAAAAAAA==";
    let path = write(&dir, "keys", &format!("{good}\n{short}\n"), 0o600);
    let message = load_error(&path);
    assert!(
        message.contains("line 3: bad key: expected 32 bytes, got 16"),
        "{message}"
    );

    let path = write(&dir, "keys", &format!("{good}{good}"), 0o600);
    let message = load_error(&path);
    assert!(message.contains("line 2: key "), "{message}");
    assert!(message.contains("listed twice"), "{message}");
}

#[test]
fn at_most_sixteen_keys() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "keys", &lines_of(&keys(16)), 0o600);
    assert_eq!(Keyring::load(&path).unwrap().keys().len(), 16);
    let path = write(&dir, "keys", &lines_of(&keys(17)), 0o600);
    let message = load_error(&path);
    assert!(
        message.contains("line 17: a keyring holds at most 16 keys"),
        "{message}"
    );
}

#[test]
fn an_empty_ring_is_refused() {
    let dir = TempDir::new().unwrap();
    for text in ["", "\n\n", "# no keys yet\n"] {
        let path = write(&dir, "keys", text, 0o600);
        let message = load_error(&path);
        assert!(message.contains("no keys"), "{message}");
    }
}

#[test]
fn an_oversized_file_is_refused_before_reading() {
    let dir = TempDir::new().unwrap();
    let mut text = lines_of(&keys(1));
    text.push_str(&"#".repeat(MAX_FILE_LEN as usize));
    let path = write(&dir, "keys", &text, 0o600);
    let message = load_error(&path);
    assert!(message.contains("at most 65536 bytes"), "{message}");

    // Exactly the limit is fine.
    let mut text = lines_of(&keys(1));
    text.push('#');
    text.push_str(&"x".repeat(MAX_FILE_LEN as usize - text.len()));
    let path = write(&dir, "keys", &text, 0o600);
    assert!(Keyring::load(&path).is_ok());
}

#[test]
fn missing_directory_and_binary_files_are_refused() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nothing-here");
    let message = load_error(&missing);
    assert!(message.contains("cannot read"), "{message}");

    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
    let message = load_error(&sub);
    assert!(message.contains("not a regular file"), "{message}");

    let path = dir.path().join("binary");
    fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let message = load_error(&path);
    assert!(message.contains("not UTF-8"), "{message}");
}

#[test]
fn text_round_trip() {
    let ring = Keyring::from_keys(keys(4)).unwrap();
    assert_eq!(Keyring::parse(&ring.to_text()).unwrap(), ring);
}
