//! `.npy` files, memory-mapped.
//!
//! The header is parsed by hand (it is a tiny Python dict literal) and the
//! data is used in place through a read-only memory map, so a 400 MB pool
//! costs no 400 MB copy: pages come in as the passes read them and the
//! kernel may drop them again.
//!
//! Supported dtypes: `<f4` (float32), `<f2` (float16) for score matrices,
//! `<i8` and `<i4` for labels. bfloat16 has no numpy dtype code: numpy
//! cannot say that a file holds bf16 (ml_dtypes saves it as an opaque
//! 2-byte void), so such files are refused rather than guessed at; bf16 is
//! supported through the in-memory [`crate::Matrix::bf16`].

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, NpyError, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Element type of an array, as far as this host reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Little-endian IEEE binary32.
    F32,
    /// Little-endian IEEE binary16.
    F16,
    /// Little-endian bfloat16 (only from memory, see the module docs).
    Bf16,
    /// Little-endian signed 64-bit integer.
    I64,
    /// Little-endian signed 32-bit integer.
    I32,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::I64 => 8,
        }
    }

    fn from_descr(descr: &str) -> std::result::Result<Dtype, NpyError> {
        let unsupported = |hint| NpyError::UnsupportedDtype {
            descr: descr.to_string(),
            hint,
        };
        match descr {
            "<f4" => Ok(Dtype::F32),
            "<f2" => Ok(Dtype::F16),
            "<i8" => Ok(Dtype::I64),
            "<i4" => Ok(Dtype::I32),
            d if d.starts_with('>') => Err(unsupported("big-endian data; save with .astype('<f4')")),
            "|V2" | "<V2" => Err(unsupported(
                "an opaque 2-byte type (how bfloat16 is saved); it cannot be told apart from other 2-byte data, convert to float32 or float16",
            )),
            "<f8" => Err(unsupported("float64; convert with .astype(np.float32)")),
            _ => Err(unsupported(
                "score matrices must be float32 (<f4) or float16 (<f2), labels int64 (<i8) or int32 (<i4)",
            )),
        }
    }
}

/// The parsed header of a `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: usize,
}

impl Header {
    /// Parses the header at the start of `bytes` (the whole file or at
    /// least its header).
    ///
    /// ```
    /// let mut f = b"\x93NUMPY\x01\x00".to_vec();
    /// let dict = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n";
    /// f.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    /// f.extend_from_slice(dict);
    /// let h = coselect_cpu::npy::Header::parse(&f)?;
    /// assert_eq!(h.shape, [3, 2]);
    /// # Ok::<(), coselect_cpu::NpyError>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> std::result::Result<Header, NpyError> {
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(NpyError::BadMagic);
        }
        let (major, minor) = (bytes[6], bytes[7]);
        let (len, start) = match major {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
            2 | 3 => {
                if bytes.len() < 12 {
                    return Err(NpyError::BadHeader("file ends inside the header".into()));
                }
                let l = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
                (l as usize, 12)
            }
            _ => return Err(NpyError::UnsupportedVersion { major, minor }),
        };
        let end = start
            .checked_add(len)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| NpyError::BadHeader("file ends inside the header".into()))?;
        let text = std::str::from_utf8(&bytes[start..end])
            .map_err(|_| NpyError::BadHeader("header is not text".into()))?;
        let dict = dict::parse(text).map_err(NpyError::BadHeader)?;
        let descr = dict
            .descr
            .ok_or_else(|| NpyError::BadHeader("no 'descr'".into()))?;
        let fortran = dict
            .fortran_order
            .ok_or_else(|| NpyError::BadHeader("no 'fortran_order'".into()))?;
        let shape = dict
            .shape
            .ok_or_else(|| NpyError::BadHeader("no 'shape'".into()))?;
        let dtype = Dtype::from_descr(&descr)?;
        if fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(NpyError::FortranOrder);
        }
        Ok(Header {
            dtype,
            shape,
            data_offset: end,
        })
    }

    /// Elements the shape holds (`None` on overflow).
    pub fn elements(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }
}

/// Formats a shape as numpy does, `(1000, 10)`.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A memory-mapped `.npy` file with a validated header.
///
/// ```no_run
/// let fm = coselect_cpu::npy::NpyFile::open("fm.npy")?;
/// let m = fm.matrix()?; // rows x classes, no copy
/// println!("{} rows", m.rows());
/// # Ok::<(), coselect_cpu::Error>(())
/// ```
#[derive(Debug)]
pub struct NpyFile {
    name: String,
    header: Header,
    map: Option<Mmap>,
}

impl NpyFile {
    /// Opens and maps `path`, checks the header and that the file holds
    /// exactly the data the header describes.
    pub fn open(path: impl AsRef<Path>) -> Result<NpyFile> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let wrap = |reason| Error::Npy {
            file: name.clone(),
            reason,
        };
        let file = File::open(path).map_err(|e| wrap(NpyError::Io(e)))?;
        let len = file.metadata().map_err(|e| wrap(NpyError::Io(e)))?.len();
        if len == 0 {
            return Err(wrap(NpyError::BadMagic));
        }
        // SAFETY: the map is read-only and private to this process. The one
        // hazard is another process truncating or rewriting the file while it
        // is mapped (a SIGBUS or changing values); that is the same contract
        // numpy's np.load(mmap_mode='r') has, and the values read are
        // validated as they are used, so a change cannot cause unsafety
        // beyond that signal.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| wrap(NpyError::Io(e)))?;
        let header = Header::parse(&map).map_err(&wrap)?;
        let elements = header
            .elements()
            .ok_or_else(|| wrap(NpyError::BadHeader("shape overflows".into())))?;
        let expected = (elements as u64).saturating_mul(header.dtype.size() as u64);
        let found = len - header.data_offset as u64;
        if found < expected {
            return Err(wrap(NpyError::Truncated { expected, found }));
        }
        if found > expected {
            return Err(wrap(NpyError::TrailingBytes {
                extra: found - expected,
            }));
        }
        Ok(NpyFile {
            name,
            header,
            map: Some(map),
        })
    }

    /// The file name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The data bytes (little-endian elements).
    pub fn data(&self) -> &[u8] {
        match &self.map {
            Some(m) => &m[self.header.data_offset..],
            None => &[],
        }
    }

    fn wrong_rank(&self, expected: &'static str) -> Error {
        Error::Npy {
            file: self.name.clone(),
            reason: NpyError::WrongRank {
                found: shape_text(&self.header.shape),
                expected,
            },
        }
    }

    /// The array as a `rows x classes` score matrix (2-D, float32 or
    /// float16), without copying.
    pub fn matrix(&self) -> Result<crate::Matrix<'_>> {
        let &[rows, cols] = self.header.shape.as_slice() else {
            return Err(self.wrong_rank("2-D (rows, classes)"));
        };
        match self.header.dtype {
            Dtype::F32 | Dtype::F16 => {}
            _ => {
                return Err(Error::Npy {
                    file: self.name.clone(),
                    reason: NpyError::UnsupportedDtype {
                        descr: format!("{:?}", self.header.dtype).to_lowercase(),
                        hint: "score matrices must be float32 (<f4) or float16 (<f2)",
                    },
                })
            }
        }
        crate::Matrix::from_le_bytes(&self.name, self.data(), self.header.dtype, rows, cols)
    }

    /// The array as labels, one per row (1-D, int64 or int32), decoded on
    /// the fly: no copy of the file.
    pub fn labels(&self) -> Result<Box<dyn Iterator<Item = i64> + '_>> {
        if self.header.shape.len() != 1 {
            return Err(self.wrong_rank("1-D (rows,)"));
        }
        let data = self.data();
        match self.header.dtype {
            Dtype::I64 => Ok(Box::new(data.chunks_exact(8).map(|b| {
                i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }))),
            Dtype::I32 => {
                Ok(Box::new(data.chunks_exact(4).map(|b| {
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64
                })))
            }
            _ => Err(Error::Npy {
                file: self.name.clone(),
                reason: NpyError::UnsupportedDtype {
                    descr: format!("{:?}", self.header.dtype).to_lowercase(),
                    hint: "labels must be int64 (<i8) or int32 (<i4), -1 for unlabeled",
                },
            }),
        }
    }

    /// The array as the [`crate::Labels`] of a pool with `classes`
    /// classes: what `Labels::new(name, self.labels()?, classes)` gives,
    /// with the decoding loop compiled per dtype and 64 rows at a time, a
    /// word of unlabeled rows settled by one branch-free test (the boxed
    /// iterator costs an indirect call and byte-wise loads per row, and
    /// this runs before the parallel pass, on one thread).
    ///
    /// ```
    /// use coselect_cpu::npy::{write, NpyFile};
    /// let dir = std::env::temp_dir().join("coselect-npy-labels-doc");
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("l.npy");
    /// let v: Vec<u8> = [-1i64, 2, 0].iter().flat_map(|x| x.to_le_bytes()).collect();
    /// write(&path, "<i8", &[3], &v)?;
    /// let labels = NpyFile::open(&path)?.read_labels(3)?;
    /// assert_eq!(labels.counts(), &[1, 0, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_labels(&self, classes: u32) -> Result<crate::Labels> {
        let data = self.data();
        match (self.header.shape.len(), self.header.dtype) {
            (1, Dtype::I64) => {
                crate::Labels::from_le::<8>(&self.name, data, classes, |b| i64::from_le_bytes(*b))
            }
            (1, Dtype::I32) => crate::Labels::from_le::<4>(&self.name, data, classes, |b| {
                i32::from_le_bytes(*b) as i64
            }),
            // Every refusal exactly as `labels` words it.
            _ => crate::Labels::new(&self.name, self.labels()?, classes),
        }
    }

    /// Rows of the array (its first dimension; 0 for a 0-d array).
    pub fn rows(&self) -> usize {
        self.header.shape.first().copied().unwrap_or(0)
    }
}

/// Writes a C-order `.npy` (format 1.0) of `shape` with the raw
/// little-endian `data`; for tests, benches and tools that make pools.
///
/// ```
/// let dir = std::env::temp_dir().join("coselect-npy-doc");
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("a.npy");
/// let v: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
/// coselect_cpu::npy::write(&path, "<f4", &[1, 2], &v)?;
/// assert_eq!(coselect_cpu::npy::NpyFile::open(&path).unwrap().header().shape, [1, 2]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write(
    path: impl AsRef<Path>,
    descr: &str,
    shape: &[usize],
    data: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_text(shape)
    );
    // numpy pads so that the data starts on a 64-byte boundary.
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut f = std::io::BufWriter::new(File::create(path)?);
    f.write_all(MAGIC)?;
    f.write_all(&[1, 0])?;
    f.write_all(&(dict.len() as u16).to_le_bytes())?;
    f.write_all(dict.as_bytes())?;
    f.write_all(data)?;
    f.flush()
}

/// The header's dict literal: `{'key': value, ...}` with string, bool and
/// int-tuple values, which is all `np.save` writes.
mod dict {
    #[derive(Default)]
    pub(super) struct Dict {
        pub descr: Option<String>,
        pub fortran_order: Option<bool>,
        pub shape: Option<Vec<usize>>,
    }

    struct Cursor<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Cursor<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.s.get(self.i).copied()
        }
        fn eat(&mut self, c: u8) -> Result<(), String> {
            match self.peek() {
                Some(x) if x == c => {
                    self.i += 1;
                    Ok(())
                }
                Some(x) => Err(format!("expected '{}', found '{}'", c as char, x as char)),
                None => Err(format!("expected '{}', found the end", c as char)),
            }
        }
        fn string(&mut self) -> Result<String, String> {
            let q = self.peek().ok_or("expected a string")?;
            if q != b'\'' && q != b'"' {
                return Err(format!("expected a string, found '{}'", q as char));
            }
            self.i += 1;
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != q {
                self.i += 1;
            }
            if self.i == self.s.len() {
                return Err("unterminated string".into());
            }
            let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            self.i += 1;
            Ok(v)
        }
        fn word(&mut self) -> String {
            self.ws();
            let start = self.i;
            while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_alphanumeric() {
                self.i += 1;
            }
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
        }
        fn tuple(&mut self) -> Result<Vec<usize>, String> {
            self.eat(b'(')?;
            let mut dims = Vec::new();
            loop {
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(dims);
                }
                let w = self.word();
                let d = w
                    .trim_end_matches('L')
                    .parse::<usize>()
                    .map_err(|_| format!("bad dimension '{w}' in shape"))?;
                dims.push(d);
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b')') => {}
                    _ => return Err("bad shape tuple".into()),
                }
            }
        }
    }

    pub(super) fn parse(text: &str) -> Result<Dict, String> {
        let mut c = Cursor {
            s: text.as_bytes(),
            i: 0,
        };
        let mut d = Dict::default();
        c.eat(b'{')?;
        loop {
            if c.peek() == Some(b'}') {
                c.i += 1;
                break;
            }
            let key = c.string()?;
            c.eat(b':')?;
            match key.as_str() {
                "descr" => d.descr = Some(c.string()?),
                "fortran_order" => {
                    d.fortran_order = Some(match c.word().as_str() {
                        "True" => true,
                        "False" => false,
                        w => return Err(format!("fortran_order is '{w}', not True/False")),
                    })
                }
                "shape" => d.shape = Some(c.tuple()?),
                other => return Err(format!("unknown key '{other}'")),
            }
            match c.peek() {
                Some(b',') => c.i += 1,
                Some(b'}') => {}
                _ => return Err("expected ',' or '}'".into()),
            }
        }
        c.ws();
        if c.i != c.s.len() {
            return Err("text after the dict".into());
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&[version, 0]);
        if version == 1 {
            f.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            f.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        f.extend_from_slice(dict.as_bytes());
        f.extend_from_slice(data);
        f
    }

    fn parse(dict: &str) -> std::result::Result<Header, NpyError> {
        Header::parse(&file(1, dict, &[]))
    }

    #[test]
    fn parses_what_numpy_writes() {
        let h = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 10), }       \n")
            .unwrap();
        assert_eq!((h.dtype, h.shape.clone()), (Dtype::F32, vec![1000, 10]));
        let h = parse("{'descr': '<i8', 'fortran_order': False, 'shape': (7,), }\n").unwrap();
        assert_eq!((h.dtype, h.shape), (Dtype::I64, vec![7]));
        let h = parse("{'shape': (3, 2), 'fortran_order': False, 'descr': '<f2'}").unwrap();
        assert_eq!(h.dtype, Dtype::F16);
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        let h = Header::parse(&file(2, d, &[])).unwrap();
        assert_eq!(h.data_offset, 12 + d.len());
    }

    #[test]
    fn refuses_bad_headers() {
        assert!(matches!(
            Header::parse(b"PK\x03\x04zipzip"),
            Err(NpyError::BadMagic)
        ));
        assert!(matches!(
            Header::parse(&file(9, "{}", &[])),
            Err(NpyError::UnsupportedVersion { major: 9, .. })
        ));
        let bad = [
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}",
            "{'descr': '<f4 'fortran_order': False, 'shape': (2, 2)}",
            "['descr']",
        ];
        for d in bad {
            assert!(matches!(parse(d), Err(NpyError::BadHeader(_))), "{d}");
        }
        // Header length running past the end of the file.
        let mut f = file(1, "{}", &[]);
        f[8] = 200;
        assert!(matches!(Header::parse(&f), Err(NpyError::BadHeader(_))));
    }

    #[test]
    fn refuses_dtypes_and_fortran_order() {
        for descr in [">f4", "<f8", "|V2", "<u2", "|b1"] {
            let d = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 2)}}");
            assert!(
                matches!(parse(&d), Err(NpyError::UnsupportedDtype { .. })),
                "{descr}"
            );
        }
        let d = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}";
        assert!(matches!(parse(d), Err(NpyError::FortranOrder)));
        // A single column is the same bytes in either order.
        let d = "{'descr': '<f4', 'fortran_order': True, 'shape': (5, 1)}";
        assert!(parse(d).is_ok());
    }

    #[test]
    fn file_checks_size_rank_and_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fm.npy");
        let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        write(&p, "<f4", &[3, 2], &data).unwrap();
        let f = NpyFile::open(&p).unwrap();
        assert_eq!(f.header().data_offset % 64, 0);
        let m = f.matrix().unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 2));
        let e = f.labels().err().unwrap().to_string();
        assert!(e.contains("has shape (3, 2), expected 1-D"), "{e}");

        write(&p, "<f4", &[4, 2], &data).unwrap();
        let e = NpyFile::open(&p).unwrap_err().to_string();
        assert!(
            e.contains("fm.npy: truncated: the header promises 32 bytes of data, the file has 24"),
            "{e}"
        );

        write(&p, "<f4", &[2, 2], &data).unwrap();
        let e = NpyFile::open(&p).unwrap_err().to_string();
        assert!(e.contains("8 bytes after the data"), "{e}");

        write(&p, "<f4", &[6], &data).unwrap();
        let e = NpyFile::open(&p).unwrap().matrix().unwrap_err().to_string();
        assert!(e.contains("expected 2-D"), "{e}");

        std::fs::write(&p, b"").unwrap();
        assert!(NpyFile::open(&p)
            .unwrap_err()
            .to_string()
            .contains("bad magic"));
        let e = NpyFile::open(dir.path().join("missing.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.npy: cannot read"), "{e}");
    }

    #[test]
    fn labels_decode_i64_and_i32() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.npy");
        let v = [-1i64, 0, 3, i64::MAX];
        let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        write(&p, "<i8", &[4], &data).unwrap();
        assert_eq!(
            NpyFile::open(&p)
                .unwrap()
                .labels()
                .unwrap()
                .collect::<Vec<_>>(),
            v
        );
        let data: Vec<u8> = [-1i32, 2].iter().flat_map(|x| x.to_le_bytes()).collect();
        write(&p, "<i4", &[2], &data).unwrap();
        assert_eq!(
            NpyFile::open(&p)
                .unwrap()
                .labels()
                .unwrap()
                .collect::<Vec<_>>(),
            [-1, 2]
        );
        write(&p, "<f4", &[1], &1f32.to_le_bytes()).unwrap();
        let e = NpyFile::open(&p)
            .unwrap()
            .labels()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("labels must be int64"), "{e}");
    }

    #[test]
    fn read_labels_is_labels_new_over_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.npy");
        // Labels every 7th row, then whole words of unlabeled rows, a
        // label past them, and a partial last word.
        let v: Vec<i64> = (0..200)
            .map(|i| if i % 7 == 0 { i % 3 } else { -1 })
            .chain((0..300).map(|i| if i == 250 { 1 } else { -1 }))
            .collect();
        // An out-of-range label after a word of unlabeled rows.
        let late: Vec<i64> = (0..150).map(|i| if i == 140 { -2 } else { -1 }).collect();
        let bad = [-1i64, 0, 5];
        let i8 = |v: &[i64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let cases: [(&str, Vec<u8>, usize); 6] = [
            ("<i8", i8(&v), v.len()),
            ("<i8", i8(&v[..64]), 64),
            (
                "<i4",
                v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect(),
                v.len(),
            ),
            ("<i8", i8(&late), late.len()),
            ("<i8", i8(&bad), 3),
            ("<f4", 1f32.to_le_bytes().to_vec(), 1),
        ];
        for (descr, data, n) in cases {
            write(&p, descr, &[n], &data).unwrap();
            let f = NpyFile::open(&p).unwrap();
            let want = f.labels().and_then(|l| crate::Labels::new(f.name(), l, 3));
            let got = f.read_labels(3);
            match (want, got) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{descr}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{descr}"),
                (a, b) => panic!("{descr}: {a:?} against {b:?}"),
            }
        }
        write(&p, "<i8", &[1, 1], &0i64.to_le_bytes()).unwrap();
        let f = NpyFile::open(&p).unwrap();
        let want = f.labels().err().unwrap().to_string();
        assert_eq!(f.read_labels(3).unwrap_err().to_string(), want);
    }
}
