//! A dense row-major `f32` matrix, the one shape every pool-sized array has here.

/// A dense row-major matrix of `f32`.
///
/// ```
/// use coselect_sim::Matrix;
/// let m = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
/// assert_eq!(m.argmax_row(0), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// Wraps `data` (length `rows * cols`, row-major).
    ///
    /// # Panics
    /// When the length does not match the shape.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "matrix data length does not match its shape"
        );
        Self { rows, cols, data }
    }

    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self::new(rows, cols, vec![0.0; rows * cols])
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major data.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The row-major data, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// A new matrix made of the given rows, in order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Matrix::new(rows.len(), self.cols, data)
    }

    /// Column of the largest value of row `i`; ties go to the lower column.
    pub fn argmax_row(&self, i: usize) -> usize {
        argmax(self.row(i))
    }
}

/// Index of the largest value; ties go to the lower index, NaN never wins.
pub(crate) fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best
}

/// In-place log-softmax of one row, computed in `f64` so that large logits do not lose the tail.
pub(crate) fn log_softmax_in_place(row: &mut [f32]) {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let s: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
    let lse = m + s.ln();
    for x in row.iter_mut() {
        *x = (*x as f64 - lse) as f32;
    }
}
