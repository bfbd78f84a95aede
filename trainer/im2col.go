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
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := col[((c*g.KH+i)*g.KW+j)*p : ((c*g.KH+i)*g.KW+j+1)*p]
				for oh := 0; oh < g.OH; oh++ {
					y := oh*g.SH - g.PT + i*g.DH
					dst := row[oh*g.OW : (oh+1)*g.OW]
					if y < 0 || y >= g.IH {
						clear(dst)
						continue
					}
					src := plane[y*g.IW : (y+1)*g.IW]
					x := -g.PL + j*g.DW
					for ow := range dst {
						if x >= 0 && x < g.IW {
							dst[ow] = src[x]
						} else {
							dst[ow] = 0
						}
						x += g.SW
					}
				}
			}
		}
	}
}

// col2im adds the column matrix col back into img, the adjoint of im2col:
// every column entry is added to the pixel it was read from.
func (g *geometry) col2im(img, col []float32) {
	p := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.IH*g.IW : (c+1)*g.IH*g.IW]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := col[((c*g.KH+i)*g.KW+j)*p : ((c*g.KH+i)*g.KW+j+1)*p]
				for oh := 0; oh < g.OH; oh++ {
					y := oh*g.SH - g.PT + i*g.DH
					if y < 0 || y >= g.IH {
						continue
					}
					dst := plane[y*g.IW : (y+1)*g.IW]
					x := -g.PL + j*g.DW
					for _, v := range row[oh*g.OW : (oh+1)*g.OW] {
						if x >= 0 && x < g.IW {
							dst[x] += v
						}
						x += g.SW
					}
				}
			}
		}
	}
}
