package trainer

// geometry describes a 2-D sliding window over an image of C channels and
// IH×IW pixels giving OH×OW output positions: kernel (KH, KW), stride,
// dilation and padding (top, left, bottom, right). 1-D windows have
// IH = OH = KH = 1.
type geometry struct {
	C, IH, IW, OH, OW      int
	KH, KW, SH, SW, DH, DW int
	PT, PL                 int
}

// outSize is the number of window positions along one axis.
func outSize(in, k, stride, dil, padBefore, padAfter int) int {
	return (in+padBefore+padAfter-dil*(k-1)-1)/stride + 1
}

// rows is the height of the column matrix: C·KH·KW.
func (g *geometry) rows() int { return g.C * g.KH * g.KW }

// im2col writes the column matrix of img, (C, IH, IW), into col, (C·KH·KW,
// OH·OW): col[(c·KH + i)·KW + j][oh·OW + ow] = img[c][oh·SH − PT + i·DH][ow·SW
// − PL + j·DW], and 0 where that falls in the padding.
func (g *geometry) im2col(col, img []float32) {
	g.im2colAt(col, g.OH*g.OW, 0, img)
}

// im2colAt is im2col into the columns [off, off + OH·OW) of a column
// matrix whose rows are ld long (the batch's matrix: one block of columns
// per sample).
func (g *geometry) im2colAt(col []float32, ld, off int, img []float32) {
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				r := (c*g.KH+i)*g.KW + j
				row := col[r*ld+off : r*ld+off+p]
				x0 := -g.PL + j*g.DW
				lo, hi := g.validRange(x0)
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
	g.col2imAt(img, col, g.OH*g.OW, 0)
}

// col2imAt is col2im from the columns [off, off + OH·OW) of a column matrix
// whose rows are ld long.
func (g *geometry) col2imAt(img, col []float32, ld, off int) {
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				r := (c*g.KH+i)*g.KW + j
				row := col[r*ld+off : r*ld+off+p]
				x0 := -g.PL + j*g.DW
				lo, hi := g.validRange(x0)
				if lo >= hi {
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
