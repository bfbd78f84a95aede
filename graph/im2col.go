package graph

// The column matrix of a sliding window (im2col) and its adjoint (col2im),
// the kernel of Conv's per-sample path and of ConvTranspose.

// geometry describes a 2-D sliding window over an image of C channels and
// IH×IW pixels giving OH×OW output positions: kernel (KH, KW), stride,
// dilation and padding (top, left, bottom, right). 1-D windows have
// IH = OH = KH = 1.
type geometry struct {
	C, IH, IW, OH, OW      int
	KH, KW, SH, SW, DH, DW int
	PT, PL                 int
}

// OutputSize is the number of positions of a window of kernel k, stride
// and dilation along an axis of in values padded by padBegin and padEnd:
// ⌊(in + padBegin + padEnd − dilation·(k − 1) − 1) / stride⌋ + 1, as ONNX
// and PyTorch have it, 0 or less when the window does not fit (the
// quotient is rounded down, not towards zero). It panics with ErrShape if
// stride is not positive.
func OutputSize(in, k, stride, dilation, padBegin, padEnd int) int {
	if stride <= 0 {
		panic(ErrShape)
	}
	num := in + padBegin + padEnd - dilation*(k-1) - 1
	q := num / stride
	if num < 0 && q*stride != num {
		q--
	}
	return q + 1
}

// rows is the height of the column matrix: C·KH·KW.
func (g *geometry) rows() int { return g.C * g.KH * g.KW }

// im2col writes the column matrix of img, (C, IH, IW), into col, (C·KH·KW,
// OH·OW): col[(c·KH + i)·KW + j][oh·OW + ow] = img[c][oh·SH − PT + i·DH][ow·SW
// − PL + j·DW], and 0 where that falls in the padding.
func (g *geometry) im2col(col, img []float32) {
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				r := (c*g.KH+i)*g.KW + j
				row := col[r*p : (r+1)*p]
				x0 := -g.PL + j*g.DW
				lo, hi := g.validRange(x0)
				if g.contiguous() {
					g.im2colRowContiguous(row, plane, i, x0, lo, hi)
					continue
				}
				for oh := 0; oh < g.OH; oh++ {
					y := oh*g.SH - g.PT + i*g.DH
					dst := row[oh*g.OW : (oh+1)*g.OW]
					if y < 0 || y >= g.IH || lo >= hi {
						clear(dst)
						continue
					}
					src := plane[y*g.IW : (y+1)*g.IW]
					clear(dst[:lo])
					clear(dst[hi:])
					if g.SW == 1 {
						copy(dst[lo:hi], src[x0+lo:x0+hi])
					} else {
						for ow, x := lo, x0+lo*g.SW; ow < hi; ow, x = ow+1, x+g.SW {
							dst[ow] = src[x]
						}
					}
				}
			}
		}
	}
}

// validRange is the range [lo, hi) of output columns whose input column
// x0 + ow·SW falls inside the image.
func (g *geometry) validRange(x0 int) (lo, hi int) {
	if x0 < 0 {
		lo = (-x0 + g.SW - 1) / g.SW
	}
	if last := g.IW - 1 - x0; last >= 0 {
		hi = min(g.OW, last/g.SW+1)
	}
	return lo, max(lo, hi)
}

// col2im adds the column matrix col back into img, the adjoint of im2col:
// every column entry is added to the pixel it was read from.
func (g *geometry) col2im(img, col []float32) {
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				r := (c*g.KH+i)*g.KW + j
				row := col[r*p : (r+1)*p]
				x0 := -g.PL + j*g.DW
				lo, hi := g.validRange(x0)
				if lo >= hi {
					continue
				}
				if g.contiguous() {
					g.col2imRowContiguous(plane, row, i, x0, lo, hi)
					continue
				}
				for oh := 0; oh < g.OH; oh++ {
					y := oh*g.SH - g.PT + i*g.DH
					if y < 0 || y >= g.IH {
						continue
					}
					dst := plane[y*g.IW : (y+1)*g.IW]
					src := row[oh*g.OW : (oh+1)*g.OW]
					if g.SW == 1 {
						d := dst[x0+lo : x0+hi]
						for k, v := range src[lo:hi] {
							d[k] += v
						}
					} else {
						for ow, x := lo, x0+lo*g.SW; ow < hi; ow, x = ow+1, x+g.SW {
							dst[x] += src[ow]
						}
					}
				}
			}
		}
	}
}

// contiguous reports whether output rows and input rows are equally long
// and both step by one (stride 1 along both axes, no dilation along the
// width): then one kernel tap reads the input planes at a constant offset,
// and a column-matrix row is one contiguous run of the input plane, apart
// from the columns that fall in the padding.
func (g *geometry) contiguous() bool {
	return g.SH == 1 && g.SW == 1 && g.DW == 1 && g.OW == g.IW
}

// tapRows returns the output rows [a, b) whose input row, for kernel row
// i, lies inside the image (a ≤ b ≤ OH: none, for a kernel row whose taps
// all fall in the padding, above or below).
func (g *geometry) tapRows(i int) (a, b int) {
	shift := i*g.DH - g.PT // input row = output row + shift
	a, b = min(max(0, -shift), g.OH), min(g.OH, g.IH-shift)
	return a, max(a, b)
}

// im2colRowContiguous fills one column-matrix row (kernel tap (i, j), whose
// valid output columns are [lo, hi)) from plane with one copy, then zeroes
// what lies in the padding.
func (g *geometry) im2colRowContiguous(row, plane []float32, i, x0, lo, hi int) {
	a, b := g.tapRows(i)
	clear(row[:a*g.OW])
	clear(row[b*g.OW:])
	if a == b || lo >= hi {
		clear(row[a*g.OW : b*g.OW])
		return
	}
	// row[k] = plane[start + k] over the valid rows, clipped to the plane:
	// what the clipping leaves out is padding.
	dst := row[a*g.OW : b*g.OW]
	start := (a+i*g.DH-g.PT)*g.IW + x0
	from, to := max(0, -start), min(len(dst), len(plane)-start)
	copy(dst[from:to], plane[start+from:start+to])
	g.clearPadding(dst, lo, hi)
}

// col2imRowContiguous adds one column-matrix row back into plane, the
// adjoint of im2colRowContiguous. It zeroes the row's padding entries
// first (the row is scratch), so that one run of additions serves.
func (g *geometry) col2imRowContiguous(plane, row []float32, i, x0, lo, hi int) {
	a, b := g.tapRows(i)
	if a == b {
		return
	}
	src := row[a*g.OW : b*g.OW]
	g.clearPadding(src, lo, hi)
	start := (a+i*g.DH-g.PT)*g.IW + x0
	from, to := max(0, -start), min(len(src), len(plane)-start)
	Axpy(plane[start+from:start+to], src[from:to], 1)
}

// clearPadding zeroes the output columns outside [lo, hi) in rows of OW.
func (g *geometry) clearPadding(rows []float32, lo, hi int) {
	for r := 0; r < len(rows); r += g.OW {
		clear(rows[r : r+lo])
		clear(rows[r+hi : r+g.OW])
	}
}
