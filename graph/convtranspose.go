package graph

import "gonum.org/v1/gonum/blas"

// ConvTranspose: the adjoint of Conv (conv.go). Its pass runs the
// convolution from its output to its input backwards: sample by sample,
// one product per group into the worker's column matrix, then col2im into
// the output (Forward); im2col of dY, the worker's share of dW and dB, and
// dX (Backward).

// ConvTransposeShape returns the shape of ConvTranspose's output Y (N, M,
// …) for X (N, C, L) or (N, C, H, W), W (C, M/group, k…) and B (M) (b nil:
// no bias), or an error naming the attribute or input that does not fit
// and its value.
func ConvTransposeShape(x, w, b []int, c *Conv) ([]int, error) { return convShape(x, w, b, c, true) }

// ConvTransposeForward writes y = convᵀ(x, w) + b (b may be nil), of
// ConvTransposeShape's shape. It panics with ErrShape if the shapes do not
// fit.
func ConvTransposeForward(y, x, w, b *Tensor, c *Conv) {
	p := c.mustPlan(x, w, b, true)
	p.resize(y, true)
	c.tjob = transposeJob{g: p.g, in: p.in, out: p.out, groups: p.groups, scratch: &c.scratch, batchPass: forwardPass(y, x, w, b)}
	runPass(&c.tjob, &c.tjob.batchPass, &c.scratch)
	c.tjob = transposeJob{}
}

// ConvTransposeBackward adds into dx, dw and db (any may be nil) the
// gradients of ConvTransposeForward's inputs for the output gradient dy:
// dW += x·im2col(dY)ᵀ, dB += Σ dY over the batch and positions, dX +=
// W·im2col(dY). It panics with ErrShape if the shapes do not fit.
func ConvTransposeBackward(dx, dw, db, dy, x, w *Tensor, c *Conv) {
	p := c.mustPlan(x, w, nil, true)
	checkGrads(p, dx, dw, db, dy, x, w, true)
	c.tjob = transposeJob{g: p.g, in: p.in, out: p.out, groups: p.groups, scratch: &c.scratch, batchPass: backwardPass(dx, dw, db, dy, x, w)}
	runPass(&c.tjob, &c.tjob.batchPass, &c.scratch)
	c.tjob = transposeJob{}
}

// transposeJob is a transposed convolution's pass over the batch; the Conv
// holds it.
type transposeJob struct {
	g               geometry // of the convolution from the output to the input
	in, out, groups int
	scratch         *[]convScratch
	batchPass
}

func (j *transposeJob) Run(lo, hi int) {
	g := &j.g
	outPlane, p := g.IH*g.IW, g.OH*g.OW
	ig, og, rows := j.in/j.groups, j.out/j.groups, g.rows()
	for part := lo; part < hi; part++ {
		sc := j.begin(*j.scratch, part)
		col := resize(&sc.col, rows*p)
		first, end := j.samples(part)
		for s := first; s < end; s++ {
			for o := 0; o < j.out; o++ {
				plane := j.y[(s*j.out+o)*outPlane : (s*j.out+o+1)*outPlane]
				if j.backward {
					if j.db != nil {
						sc.db[o] += Sum32(plane)
					}
					continue
				}
				b := j.bias(o)
				for i := range plane {
					plane[i] = b
				}
			}
			if j.backward && j.dw == nil && j.dx == nil {
				continue
			}
			for gr := 0; gr < j.groups; gr++ {
				xg := matrix(ig, p, j.x[(s*j.in+gr*ig)*p:(s*j.in+(gr+1)*ig)*p])
				w := matrix(ig, rows, j.w[gr*ig*rows:(gr+1)*ig*rows])
				y := j.y[(s*j.out+gr*og)*outPlane:]
				if !j.backward {
					GemmSerial(blas.Trans, blas.NoTrans, 1, w, xg, 0, matrix(rows, p, col))
					g.col2im(y[:og*outPlane], col)
					continue
				}
				g.im2col(col, y)
				if j.dw != nil {
					dw := matrix(ig, rows, sc.dw[gr*ig*rows:(gr+1)*ig*rows])
					GemmSerial(blas.NoTrans, blas.Trans, 1, xg, matrix(rows, p, col), 1, dw)
				}
				if j.dx != nil {
					GemmSerial(blas.NoTrans, blas.NoTrans, 1, w, matrix(rows, p, col), 1, matrix(ig, p, j.dx[(s*j.in+gr*ig)*p:(s*j.in+(gr+1)*ig)*p]))
				}
			}
		}
	}
}

// convTransposeRef is the textbook loop nest of ConvTranspose
// (ConvTransposeForward's reference), in T: each input pixel scatters
// x·w[c][o′] into the output window it maps to. b may be nil.
func convTransposeRef[T float32 | float64](x, w, b []T, p convPlan) []T {
	g := p.g // from the output (IH, IW) to the input (OH, OW)
	ig, og := p.in/p.groups, p.out/p.groups
	y := make([]T, p.n*p.out*g.IH*g.IW)
	for s := 0; s < p.n; s++ {
		if b != nil {
			for o := 0; o < p.out; o++ {
				for i := 0; i < g.IH*g.IW; i++ {
					y[(s*p.out+o)*g.IH*g.IW+i] = b[o]
				}
			}
		}
		for c := 0; c < p.in; c++ {
			gr := c / ig
			for iy := 0; iy < g.OH; iy++ {
				for ix := 0; ix < g.OW; ix++ {
					v := x[((s*p.in+c)*g.OH+iy)*g.OW+ix]
					for o := 0; o < og; o++ {
						for i := 0; i < g.KH; i++ {
							for j := 0; j < g.KW; j++ {
								yy, xx := iy*g.SH-g.PT+i*g.DH, ix*g.SW-g.PL+j*g.DW
								if yy < 0 || yy >= g.IH || xx < 0 || xx >= g.IW {
									continue
								}
								y[((s*p.out+gr*og+o)*g.IH+yy)*g.IW+xx] += v * w[((c*og+o)*g.KH+i)*g.KW+j]
							}
						}
					}
				}
			}
		}
	}
	return y
}
