package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/aebridge/aebridge/graph"
)

// A training step on the model's graph: the graph's planned executor runs
// the forward and backward passes; the loss, the penalties on the code
// and the gradient seeds are the trainer's, and never enter the graph.
//
// When the output is a sigmoid and the loss BCE, the step stops at the
// sigmoid's input and takes the loss on the logits (the graph's Sigmoid
// node does not run in training), as PyTorch's BCEWithLogitsLoss does.

// trainPlan is the plan of one batch shape, with its tensors' names and
// the buffers of the gradient seeds.
type trainPlan struct {
	plan    *graph.Plan // the whole step; a variational model's encoder
	dec     *graph.Plan // a variational model's decoder, fed z as μ
	shape   []int       // the input's batch shape it was planned for
	cond    bool        // planned with a condition input
	penalty bool        // planned with the code as a second seed
	// contractive is whether it keeps the encoder's tensors, which the
	// contractive penalty reads (encoder names the first layer's input,
	// then each encoder layer's output).
	contractive bool
	encoder     []string
	out, code   string
	dout        Tensor    // the loss's gradient at out
	dcode       Tensor    // the penalties' gradient at the code
	prior       Tensor    // a wae step's draws from the prior
	samples     int       // an iwae step's K: the decoder's batch is K times the input's
	logw        []float64 // an iwae step's log wₖ, then w̃ₖ/N
	inputs      [2]*Tensor
	x           Tensor // the input viewed with the model's input shape
}

// maxTrainPlans is how many batch shapes the model keeps plans for: the
// full batches and the last, shorter one of an epoch.
const maxTrainPlans = 2

// trainsOnGraph reports whether a training step runs on the graph: for
// models whose graph's operators the graph package runs (onGraph, found
// once by Build).
func (m *Model) trainsOnGraph(reg *Regularization) bool {
	return m.onGraph
}

// lossTensor is the tensor the loss reads: the output, or the logits of
// its final sigmoid when the loss takes them (fused).
func (m *Model) lossTensor() string {
	out := m.g.Outputs[0]
	if m.fused {
		for _, n := range m.g.Nodes {
			if n.Outputs[0] == out && n.Op == "Sigmoid" {
				return n.Inputs[0]
			}
		}
	}
	return out
}

// graphInputs are the names of the graph's data input and, for a
// conditional model, its condition input.
func (m *Model) graphInputs() (data, cond string) {
	data = m.g.Inputs[0].Name
	if len(m.g.Inputs) > 1 {
		cond = m.g.Inputs[1].Name
	}
	return data, cond
}

// trainPlanFor returns the plan for the batch shape, planning it (and
// dropping the oldest) if the model has none.
func (m *Model) trainPlanFor(shape []int, cond, penalty, contractive bool, samples int) (*trainPlan, error) {
	for _, tp := range m.plans {
		if slices.Equal(tp.shape, shape) && tp.cond == cond && tp.penalty == penalty && tp.contractive == contractive && tp.samples == samples {
			return tp, nil
		}
	}
	tp := &trainPlan{shape: slices.Clone(shape), cond: cond, penalty: penalty, contractive: contractive, samples: samples, out: m.lossTensor(), code: m.g.Marks[graph.MarkCode]}
	data, condName := m.graphInputs()
	in := map[string][]int{data: shape}
	if cond {
		in[condName] = []int{shape[0], m.Config.Condition}
	}
	o := graph.PlanOptions{Outputs: []string{tp.out}, Training: true, GradBuffers: map[string]*graph.Tensor{}}
	if penalty {
		o.Outputs = append(o.Outputs, tp.code)
	}
	if contractive {
		// Kept as outputs, not gradient seeds.
		tp.encoder = m.encoderTensors
		o.Seeds = slices.Clone(o.Outputs)
		o.Outputs = append(o.Outputs, tp.encoder[1:]...)
	}
	for _, p := range m.params {
		o.Grads = append(o.Grads, p.Name)
		o.GradBuffers[p.Name] = p.Grad
	}
	if m.mu != nil {
		// The encoder to μ and log σ², and the decoder fed z in μ's
		// place, with μ's gradient: the sample between them is the
		// trainer's. Each adds into the gradients of its own weights.
		dec := o
		dec.Inputs = []string{GraphMu}
		if cond {
			dec.Inputs = append(dec.Inputs, condName)
		}
		dec.Grads = append(slices.Clone(o.Grads), GraphMu)
		decIn := in
		if samples > 1 { // an iwae step decodes K samples of each input
			decIn = map[string][]int{data: append([]int{shape[0] * samples}, shape[1:]...)}
		}
		var err error
		if tp.dec, err = m.g.Plan(decIn, dec); err != nil {
			return nil, err
		}
		o.Outputs = []string{GraphMu, GraphLogVar}
	}
	plan, err := m.g.Plan(in, o)
	if err != nil {
		return nil, err
	}
	tp.plan = plan
	if len(m.plans) == maxTrainPlans {
		m.plans = m.plans[1:]
	}
	m.plans = append(m.plans, tp)
	return tp, nil
}

// graphStep is TrainStep on the graph.
func (m *Model) graphStep(b Batch, reg *Regularization, rng *rand.Rand) (loss, penalty float64) {
	x := b.X
	if want := len(m.Config.Input) + 1; len(x.Shape) != want {
		shape := append(append(m.inputShape[:0], x.Rows()), m.Config.Input...)
		m.inputShape = shape
		v := &m.inputView
		*v = Tensor{Shape: shape, Data: x.Data}
		x = v
	}
	penalize := m.mu == nil && reg != nil && (reg.L1 != 0 || reg.SparsityWeight != 0 || reg.MMD != 0 || reg.Embedding != 0)
	contract := m.mu == nil && reg != nil && reg.Contractive > 0
	cond := m.Config.Condition > 0
	samples := 0
	if m.Config.Variant == "iwae" {
		samples = 1
		if reg != nil && reg.Samples > 0 {
			samples = reg.Samples
		}
	}
	tp, err := m.trainPlanFor(x.Shape, cond, penalize, contract, samples)
	if err != nil {
		panic(err) // the model's own graph at a batch shape of its input: a bug
	}
	tp.plan.SetTraining(true, rng)
	tp.inputs[0] = x
	inputs := tp.inputs[:1]
	if cond {
		tp.inputs[1] = b.Cond
		inputs = tp.inputs[:2]
	}
	if err := tp.plan.Forward(inputs...); err != nil {
		panic(ErrShape)
	}
	if samples > 0 {
		return m.iwaeStep(tp, b, samples, rng)
	}
	if m.mu != nil {
		beta := 1.0
		var info *Regularization
		if reg != nil {
			beta = reg.klWeight()
			if m.Config.Variant == "infovae" {
				beta, info = 1-reg.InfoAlpha, reg
			}
		}
		return m.vaeStep(tp, b, beta, info, rng)
	}
	out := tp.plan.Value(tp.out)
	loss = m.lossOf(out, m.fused, b.Target, b.Weight, &tp.dout)
	if penalize {
		code := tp.plan.Value(tp.code)
		tp.dcode.Resize(code.Shape...)
		tp.dcode.Zero()
		if reg.L1 > 0 {
			penalty += L1Penalty(&tp.dcode, code, reg.L1)
		}
		if reg.SparsityWeight > 0 {
			penalty += KLSparsityPenalty(&tp.dcode, code, reg.Rho, reg.SparsityWeight)
		}
		if reg.MMD > 0 || reg.Embedding > 0 {
			// wae and rae sum the reconstruction over a sample's elements
			// (lossOf's gradient is of the mean over them), as pythae does.
			scale := float32(tp.dout.Len() / code.Rows())
			for i := range tp.dout.Data {
				tp.dout.Data[i] *= scale
			}
		}
		if reg.Embedding > 0 {
			penalty += m.raePenalty(&tp.dcode, code, reg)
		}
		if reg.MMD > 0 {
			tp.prior.Resize(code.Shape...)
			drawPrior(&tp.prior, b.Prior, rng)
			penalty += MMDPenalty(&tp.dcode, code, &tp.prior, reg.MMD, reg.Bandwidth)
		}
		tp.plan.Backward(&tp.dout, &tp.dcode)
	} else {
		tp.plan.Backward(&tp.dout)
	}
	if contract {
		penalty += m.contractiveOn(tp, reg, rng)
	}
	return loss, penalty
}

// vaeStep is graphStep for a variational model, after the encoder's
// forward pass: it samples z (or uses b.Eps), runs the decoder on it, and
// adds the gradients of (reconstruction + β·KL)/N, as trainVAE does. With
// info (variant infovae) it adds (α + λ − 1)·MMD(z, prior) too, pythae's
// InfoVAE objective with β = 1 − α (see infoVAEMMD).
func (m *Model) vaeStep(tp *trainPlan, b Batch, beta float64, info *Regularization, rng *rand.Rand) (loss, penalty float64) {
	v := &m.vae
	mu, logvar := tp.plan.Value(GraphMu), tp.plan.Value(GraphLogVar)
	n, k := mu.Rows(), mu.Cols()
	lo, hi := m.Config.Variational.bounds()
	v.z.Resize(n, k)
	v.eps.Resize(n, k)
	if b.Eps != nil {
		sameShape(b.Eps, mu)
		copy(v.eps.Data, b.Eps.Data)
	} else {
		for i := range v.eps.Data {
			v.eps.Data[i] = float32(rng.NormFloat64())
		}
	}
	for i, u := range mu.Data {
		lv := min(max(float64(logvar.Data[i]), lo), hi)
		v.z.Data[i] = u + v.eps.Data[i]*float32(math.Exp(0.5*lv))
	}
	tp.dec.SetTraining(true, rng)
	tp.inputs[0] = &v.z
	inputs := tp.inputs[:1]
	if m.Config.Condition > 0 {
		inputs = tp.inputs[:2]
	}
	if err := tp.dec.Forward(inputs...); err != nil {
		panic(ErrShape)
	}
	loss = m.lossOf(tp.dec.Value(tp.out), m.fused, b.Target, b.Weight, &tp.dout)
	// The loss functions give the gradient of the mean over elements; the
	// objective averages over samples.
	scale := float32(tp.dout.Len() / n)
	for i := range tp.dout.Data {
		tp.dout.Data[i] *= scale
	}
	tp.dec.Backward(&tp.dout)
	dz := tp.dec.Grad(GraphMu)
	if info != nil {
		tp.prior.Resize(n, k)
		drawPrior(&tp.prior, b.Prior, rng)
		// Summed over the batch as the other terms are: N·(α + λ − 1)·MMD.
		penalty += float64(n) * mmdPenalty(dz, &v.z, &tp.prior, info.InfoAlpha+info.InfoLambda-1, info.Bandwidth, infoVAEScales)
	}
	v.dmu.Resize(n, k)
	v.dlv.Resize(n, k)
	for i, d := range dz.Data {
		v.dmu.Data[i] = d
		lv := float64(logvar.Data[i])
		if lv > lo && lv < hi {
			v.dlv.Data[i] = d * v.eps.Data[i] * 0.5 * float32(math.Exp(0.5*lv))
		} else {
			v.dlv.Data[i] = 0
		}
	}
	kl := KLDivergence(&v.dmu, &v.dlv, mu, logvar, beta/float64(n))
	tp.plan.Backward(&v.dmu, &v.dlv)
	return loss, penalty + beta*kl
}

// contractiveOn adds the contractive penalty's gradient for the step's
// forward pass, after its backward pass: the penalty's passes read the
// encoder's tensors from the plan (the layers' weights are the graph's
// parameters).
func (m *Model) contractiveOn(tp *trainPlan, reg *Regularization, rng *rand.Rand) float64 {
	for i, l := range m.Encoder {
		in, out := tp.plan.Value(tp.encoder[i]), tp.plan.Value(tp.encoder[i+1])
		if in == nil || out == nil {
			panic(fmt.Sprintf("trainer: the graph has no tensor %s or %s for the contractive penalty", tp.encoder[i], tp.encoder[i+1]))
		}
		switch l := l.(type) {
		case *Dense:
			l.x = in
		case *Activation:
			l.x, l.y = in, out
		}
	}
	return m.contractive(reg.Contractive, reg.ContractiveSamples, rng)
}
