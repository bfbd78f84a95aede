package runtime

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/aebridge/aebridge/internal/onnxfile"
	"github.com/aebridge/aebridge/internal/onnxpb"
)

// The parts of an autoencoder, as aebridge's exports record them in the
// metadata key PartKey, and the files a model directory holds them in.
const (
	PartKey  = "part"  // "full", "encoder" or "decoder"
	ModelKey = "model" // the model's configuration, the same JSON in all three files

	FullFile    = "model.onnx"
	EncoderFile = "encoder.onnx"
	DecoderFile = "decoder.onnx"
)

// Part returns the part of an autoencoder the model is, from aebridge's
// metadata: "full", "encoder", "decoder", or "" when the file does not say
// (a PyTorch export).
func (info *Info) Part() string {
	if info.Producer != "aebridge" {
		return ""
	}
	switch p := info.Metadata[PartKey]; p {
	case "full", "encoder", "decoder":
		return p
	}
	return ""
}

// codeOutput returns the index of the output that carries the code: "mu"
// (a variational encoder's mean) or else "z"; -1 when there is neither.
func codeOutput(info *Info) int {
	for _, name := range []string{"mu", "z"} {
		for i, o := range info.Outputs {
			if o.Name == name {
				return i
			}
		}
	}
	return -1
}

// companion returns the model's other part, "encoder" or "decoder": the
// file of that part beside it in its directory (encoder.onnx,
// decoder.onnx), opened with the model's options on first use and closed
// with it. The file must record that part and the same model configuration
// as this one (aebridge's metadata), and its weights must be those of the
// full model (this one, or model.onnx beside an encoder or decoder, when
// there is one), so that a stray file is never taken for the model's own
// encoder or decoder.
func (m *Model) companion(part string) (*Model, error) {
	file := map[string]string{"encoder": EncoderFile, "decoder": DecoderFile}[part]
	mine := m.info.Part()
	if mine == "" || m.info.Metadata[ModelKey] == "" {
		return nil, fmt.Errorf("runtime: %s is not an aebridge export that records its part and configuration, so its %s cannot be found; open the %s file itself", m.info.Path, part, part)
	}
	m.partsMu.Lock()
	defer m.partsMu.Unlock()
	if p, ok := m.parts[part]; ok {
		return p, nil
	}
	m.mu.RLock()
	closed := m.session == nil
	m.mu.RUnlock()
	if closed {
		return nil, fmt.Errorf("runtime: %s: %w", m.info.Path, errClosed)
	}
	path := filepath.Join(filepath.Dir(m.info.Path), file)
	info, err := Inspect(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s is the %s graph; its %s is looked for beside it: %w", m.info.Path, mine, part, err)
	}
	if info.Part() != part || info.Metadata[ModelKey] != m.info.Metadata[ModelKey] {
		return nil, fmt.Errorf("runtime: %s is not the %s of %s: it records part %q and another model configuration; export them together", path, part, m.info.Path, info.Metadata[PartKey])
	}
	// The same configuration may hold other weights (a model trained
	// again beside an old encoder): the weights must agree too, checked
	// against the full model, whose weights include the parts'.
	switch full := filepath.Join(filepath.Dir(m.info.Path), FullFile); {
	case mine == "full":
		err = SameWeights(m.info.Path, path)
	case fileExists(full):
		err = SameWeights(full, m.info.Path, path)
	}
	if err != nil {
		return nil, err
	}
	p, err := openModel(path, m.opts)
	if err != nil {
		return nil, err
	}
	if m.parts == nil {
		m.parts = map[string]*Model{}
	}
	m.parts[part] = p
	return p, nil
}

// SameWeights checks that files[1:] are parts of the model files[0]:
// each of their float initializers is one of files[0]'s, by name, with the
// same values bit for bit. It is how a companion encoder.onnx or
// decoder.onnx is known to belong to the model.onnx beside it.
func SameWeights(files ...string) error {
	whole := map[string][]float32{}
	for i, f := range files {
		mp, err := onnxfile.Load(f)
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		for _, t := range mp.Graph.Initializer {
			if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
				continue
			}
			v, err := onnxfile.Float32s(t)
			if err != nil {
				return fmt.Errorf("runtime: %s: %w", f, err)
			}
			if i == 0 {
				whole[t.GetName()] = v
				continue
			}
			w, ok := whole[t.GetName()]
			switch {
			case !ok:
				return fmt.Errorf("runtime: %s holds weights %q that %s lacks: they are not parts of one model; export them together", f, t.GetName(), files[0])
			case !sameBits(v, w):
				return fmt.Errorf("runtime: %s and %s hold different weights %q: they are not parts of one model (trained again since?); export them together", f, files[0], t.GetName())
			}
		}
	}
	return nil
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// feed returns the inputs for a run of m: x (or a code) first, then the
// conditions, which must fill the model's other inputs.
func (m *Model) feed(x Tensor, cond []Tensor) ([]Tensor, error) {
	if want := len(m.info.Inputs) - 1; len(cond) != want {
		switch {
		case want == 0:
			return nil, fmt.Errorf("runtime: %s takes one input (%s), no condition; %d given", m.info.Path, ioNames(m.info.Inputs), len(cond))
		case len(cond) == 0 && m.info.Classes() > 0:
			return nil, fmt.Errorf("runtime: %s is conditional (inputs %s): give the condition", m.info.Path, ioNames(m.info.Inputs))
		case len(cond) == 0:
			return nil, fmt.Errorf("runtime: %s takes inputs beyond the first (%s), and they are not a (batch, classes) condition: a decoder that needs the encoder's pooling indices cannot decode codes alone", m.info.Path, ioNames(m.info.Inputs))
		}
		return nil, fmt.Errorf("runtime: %s takes %d inputs (%s); given %d", m.info.Path, len(m.info.Inputs), ioNames(m.info.Inputs), 1+len(cond))
	}
	return append([]Tensor{x}, cond...), nil
}

// Encode returns the codes of the samples x, (batch, …): the output "mu"
// of a variational encoder (its mean, the deterministic code), else the
// output "z", else the first output. cond is the condition of a
// conditional model (its one-hot (batch, classes) input, see OneHot),
// and nothing otherwise.
//
// Which graph computes the code:
//
//   - an encoder (aebridge's encoder.onnx, or any file that is not
//     recorded as a full model or a decoder) runs itself;
//   - a full autoencoder runs itself when its graph exposes the code as an
//     output named "mu" or "z"; aebridge's model.onnx does not (its one
//     output is x_hat), so Encode runs the encoder exported with it,
//     encoder.onnx in the same directory, which must record part "encoder"
//     and the same model configuration, and whose weights must be the full
//     model's, by name and bit for bit (checked, then opened, on first
//     use, with this model's options; closed by Close);
//   - a decoder is an error.
//
// A file that records no part and whose first output has x's shape (a
// whole autoencoder from PyTorch, say) is refused: its output is a
// reconstruction, not a code.
func (m *Model) Encode(x Tensor, cond ...Tensor) (Tensor, error) {
	k := codeOutput(m.info)
	switch m.info.Part() {
	case "decoder":
		return Tensor{}, fmt.Errorf("runtime: %s is a decoder; Encode needs the encoder or the full model", m.info.Path)
	case "full":
		if k < 0 {
			enc, err := m.companion("encoder")
			if err != nil {
				return Tensor{}, err
			}
			return enc.Encode(x, cond...)
		}
	}
	in, err := m.feed(x, cond)
	if err != nil {
		return Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return Tensor{}, err
	}
	if k < 0 {
		if m.info.Part() == "" && slices.Equal(out[0].Shape, x.Shape) {
			return Tensor{}, fmt.Errorf("runtime: %s gives output %q of the input's shape %s and no output \"mu\" or \"z\": it looks like a whole autoencoder, not an encoder; open its encoder", m.info.Path, m.info.Outputs[0].Name, shapeString(x.Shape))
		}
		k = 0
	}
	return out[k], nil
}

// Decode returns the decoder's output, the first, for codes z, (batch, …)
// as Encode gives them, or flat, (batch, n), for a decoder whose code
// input has a fixed shape of n elements per sample (a convolutional
// code). cond is the condition of a conditional model. A decoder (or a
// file that does not record its part) runs itself; a full model or an
// encoder runs the decoder exported with it, decoder.onnx in its
// directory, found and checked as Encode finds the encoder. A decoder
// that needs more than a code (an unpooling decoder's pooling indices)
// cannot decode codes alone: it returns an error.
func (m *Model) Decode(z Tensor, cond ...Tensor) (Tensor, error) {
	if p := m.info.Part(); p == "full" || p == "encoder" {
		dec, err := m.companion("decoder")
		if err != nil {
			return Tensor{}, err
		}
		return dec.Decode(z, cond...)
	}
	if dims, n, ok := fixedSample(m.info.Inputs[0]); ok && len(z.Shape) == 2 && z.Shape[1] == n && len(dims) > 1 {
		z = Tensor{Shape: append([]int64{z.Shape[0]}, dims...), Data: z.Data}
	}
	in, err := m.feed(z, cond)
	if err != nil {
		return Tensor{}, err
	}
	out, err := m.Run(in...)
	if err != nil {
		return Tensor{}, err
	}
	return out[0], nil
}

// chain reconstructs x by running enc and then dec on its code: dec's
// first input gets the code (Encode's choice of output), inputs named like
// an output of enc (an unpooling decoder's pooling indices) get that
// output, and the others the conditions in order.
func chain(enc, dec *Model, x Tensor, cond []Tensor) (Tensor, error) {
	in, err := enc.feed(x, cond)
	if err != nil {
		return Tensor{}, err
	}
	out, err := enc.Run(in...)
	if err != nil {
		return Tensor{}, err
	}
	k := max(codeOutput(enc.info), 0)
	din := []Tensor{out[k]}
	rest := cond
	for _, io := range dec.info.Inputs[1:] {
		found := false
		for j, o := range enc.info.Outputs {
			if o.Name == io.Name && j != k {
				din, found = append(din, out[j]), true
				break
			}
		}
		if found {
			continue
		}
		if len(rest) == 0 {
			return Tensor{}, fmt.Errorf("runtime: %s needs input %q, which neither %s gives nor the conditions", dec.info.Path, io.Name, enc.info.Path)
		}
		din, rest = append(din, rest[0]), rest[1:]
	}
	if len(rest) > 0 {
		return Tensor{}, fmt.Errorf("runtime: %s and %s take %d conditions, %d given", enc.info.Path, dec.info.Path, len(cond)-len(rest), len(cond))
	}
	xo, err := dec.Run(din...)
	if err != nil {
		return Tensor{}, err
	}
	if !slices.Equal(xo[0].Shape, x.Shape) {
		return Tensor{}, fmt.Errorf("runtime: %s: output %q has shape %s, input %q of %s has %s; not a reconstruction",
			dec.info.Path, dec.info.Outputs[0].Name, shapeString(xo[0].Shape), enc.info.Inputs[0].Name, enc.info.Path, shapeString(x.Shape))
	}
	return xo[0], nil
}

// OneHot returns the (batch, classes) one-hot condition for the class of
// each sample, as a conditional model takes it. It returns an error for a
// class outside [0, classes).
func OneHot(class []int, classes int) (Tensor, error) {
	if classes <= 0 {
		return Tensor{}, fmt.Errorf("runtime: one-hot conditions need at least one class, got %d", classes)
	}
	t := Tensor{Shape: []int64{int64(len(class)), int64(classes)}, Data: make([]float32, len(class)*classes)}
	for i, c := range class {
		if c < 0 || c >= classes {
			return Tensor{}, fmt.Errorf("runtime: sample %d has class %d, outside 0 to %d", i, c, classes-1)
		}
		t.Data[i*classes+c] = 1
	}
	return t, nil
}

// Classes returns the number of classes of a conditional model's condition,
// its second input (batch, classes), or 0 when the model takes no
// condition of that shape.
func (info *Info) Classes() int {
	if len(info.Inputs) != 2 {
		return 0
	}
	io := info.Inputs[1]
	if !io.HasShape || len(io.Shape) != 2 || io.Shape[1].Size <= 0 {
		return 0
	}
	return int(io.Shape[1].Size)
}
