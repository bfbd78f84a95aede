package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aebridge/aebridge/internal/limits"
)

// TestBuildInitialises checks that Build returns a model initialised from
// Config.Init and Config.InitSeed: no weight matrix is all zeros, the
// weights are those Init(InitSeed) gives, and Fit on the built model trains
// as on a model initialised explicitly, step for step (a zero model's
// hidden layers would get no gradient).
func TestBuildInitialises(t *testing.T) {
	c, err := MLP{Input: 12, Hidden: []int{8}, Latent: 3}.Config()
	if err != nil {
		t.Fatal(err)
	}
	c.InitSeed = 5
	built, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range built.Params() {
		if p.Decay && !slices.ContainsFunc(p.Value.Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: all zeros after Build", p.Name)
		}
	}
	explicit, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	explicit.Init(5)
	if got, want := weights(built), weights(explicit); !slices.Equal(got, want) {
		t.Fatalf("Build's weights differ from Init(InitSeed)'s")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	data := randTensor(rng, 0, 1, 64, 12)
	cfg := TrainConfig{Optimizer: OptimizerConfig{Name: "sgd", LR: 0.5}, Epochs: 3, Batch: 16, Seed: 1}
	fresh, _ := Build(c) // a third copy, trained without Init
	a, err := Fit(fresh, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(explicit, data, cfg, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.History {
		if a.History[i].TrainLoss != b.History[i].TrainLoss {
			t.Errorf("epoch %d: train loss %v after Build, %v after Build and Init", i+1, a.History[i].TrainLoss, b.History[i].TrainLoss)
		}
	}
	if !(a.History[2].TrainLoss < a.History[0].TrainLoss) {
		t.Errorf("train loss %v → %v: want it lower", a.History[0].TrainLoss, a.History[2].TrainLoss)
	}
}

// huge is the reproducer of a config.json describing a 200000×200000
// layer, 160 GB of weights.
func huge() Config {
	return Config{Variant: "ae", Input: []int{200000},
		Encoder: []LayerSpec{{Type: "dense", In: 200000, Out: 200000}},
		Decoder: []LayerSpec{{Type: "dense", In: 200000, Out: 200000}}, Loss: MSE}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBuildRefusesHugeModels checks that Build, Check and ReadConfigFile
// count a model's parameters before allocating them and refuse a model
// past limits.MaxParams, naming the layer and its sizes.
func TestBuildRefusesHugeModels(t *testing.T) {
	var manySmall Config // each layer fits, all of them together do not
	manySmall = Config{Variant: "ae", Input: []int{16384}, Loss: MSE}
	for i := 0; i < 5; i++ {
		manySmall.Encoder = append(manySmall.Encoder, LayerSpec{Type: "dense", In: 16384, Out: 16384})
	}
	conv := Config{Variant: "conv", Input: []int{1, 8, 8}, Loss: MSE, Part: "encoder",
		Encoder: []LayerSpec{{Type: "conv2d", In: 1, Out: 1 << 20, Kernel: []int{1, 1}}, {Type: "conv2d", In: 1 << 20, Out: 1 << 20, Kernel: []int{1, 1}}}}
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"200000×200000", huge(), "trainer: layer encoder.0 (dense 200000→200000): parameter shape [200000 200000]: exceeds aebridge's limit of 2147483648 elements"},
		{"many layers", manySmall, "trainer: layer encoder.3 (dense 16384→16384): its 268451840 parameters bring the model to 1073807360, which exceeds aebridge's limit of 1073741824 parameters"},
		{"conv", conv, "trainer: layer encoder.1 (conv2d 1048576→1048576 kernel [1 1] groups 1): parameter shape [1048576 1048576 1 1]: exceeds aebridge's limit"},
		{"variational heads", Config{Variant: "vae", Input: []int{4}, Loss: MSE, Encoder: []LayerSpec{{Type: "dense", In: 4, Out: 40000}},
			Variational: &Variational{In: 40000, Latent: 40000}}, "trainer: layer mu (dense 40000→40000): its 1600040000 parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if n := allocated(func() { _, err = Build(tt.c) }); n > 64<<20 {
				t.Errorf("Build allocated %d bytes, want < 64 MiB", n)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, limits.ErrTooLarge) {
				t.Fatalf("Build: got %v, want %q (ErrTooLarge)", err, tt.want)
			}
			if err := tt.c.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: got %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("config.json", func(t *testing.T) {
		dir := t.TempDir()
		b, _ := json.Marshal(File{Version: Version, Model: huge()})
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		for name, read := range map[string]func() error{
			"ReadConfigFile": func() error { _, err := ReadConfigFile(filepath.Join(dir, ConfigFile)); return err },
			"Load":           func() error { _, _, err := Load(dir); return err },
		} {
			var err error
			if n := allocated(func() { err = read() }); n > 64<<20 {
				t.Errorf("%s allocated %d bytes, want < 64 MiB", name, n)
			}
			want := "trainer: layer encoder.0 (dense 200000→200000): parameter shape [200000 200000]: exceeds aebridge's limit of 2147483648 elements (in " + filepath.Join(dir, ConfigFile) + ", model)"
			if err == nil || err.Error() != want {
				t.Errorf("%s: got %v, want %s", name, err, want)
			}
		}
	})
}

// TestReadConfigFileRejectsBadFields writes config.json files with one bad
// field each and checks that the error names the file, the field and the
// value.
func TestReadConfigFileRejectsBadFields(t *testing.T) {
	good := func() Config {
		return Config{Variant: "conv", Input: []int{1, 8, 8}, Loss: MSE,
			Encoder: []LayerSpec{{Type: "conv2d", In: 1, Out: 2, Kernel: []int{3, 3}, Padding: []int{1, 1, 1, 1}}, {Type: "relu"}, {Type: "maxpool2d", Kernel: []int{2, 2}}},
			Decoder: []LayerSpec{{Type: "conv_transpose2d", In: 2, Out: 1, Kernel: []int{2, 2}, Stride: []int{2, 2}}, {Type: "sigmoid"}}}
	}
	tests := []struct {
		name   string
		change func(c *Config, tc *TrainConfig)
		want   string
	}{
		{"unknown variant", func(c *Config, _ *TrainConfig) { c.Variant = "gan" }, `model.variant "gan" (want one of [ae tied linear`},
		{"no variant", func(c *Config, _ *TrainConfig) { c.Variant = "" }, `model.variant ""`},
		{"negative input", func(c *Config, _ *TrainConfig) { c.Input = []int{1, -8, 8} }, "input shape [1 -8 8] must have positive dimensions"},
		{"zero input", func(c *Config, _ *TrainConfig) { c.Input = []int{1, 0, 8} }, "input shape [1 0 8] must have positive dimensions"},
		{"input too large", func(c *Config, _ *TrainConfig) { c.Input = []int{1 << 20, 1 << 20, 8} }, "trainer: input: shape [1048576 1048576 8]: exceeds aebridge's limit"},
		{"negative channels", func(c *Config, _ *TrainConfig) { c.Encoder[0].Out = -2 }, "layer encoder.0: conv2d in 1, out -2: channels must be positive"},
		{"zero channels", func(c *Config, _ *TrainConfig) { c.Encoder[0].Out = 0 }, "layer encoder.0: conv2d in 1, out 0: channels must be positive"},
		{"zero kernel", func(c *Config, _ *TrainConfig) { c.Encoder[0].Kernel = []int{0, 3} }, "layer encoder.0: conv2d kernel [0 3]: each value must be in [1, 1048576]"},
		{"absurd kernel", func(c *Config, _ *TrainConfig) { c.Encoder[0].Kernel = []int{1 << 40, 3} }, "layer encoder.0: conv2d kernel [1099511627776 3]: each value must be in [1, 1048576]"},
		{"absurd stride", func(c *Config, _ *TrainConfig) { c.Decoder[0].Stride = []int{2, 1 << 62} }, "layer decoder.0: conv_transpose2d stride [2 4611686018427387904]: each value must be in [1, 1048576]"},
		{"negative padding", func(c *Config, _ *TrainConfig) { c.Encoder[0].Padding = []int{-1, 1, 1, 1} }, "layer encoder.0: conv2d padding [-1 1 1 1]: each value must be in [0, 1048576]"},
		{"kernel larger than the input", func(c *Config, _ *TrainConfig) {
			c.Encoder[0].Kernel, c.Encoder[0].Stride, c.Encoder[0].Padding = []int{9, 9}, []int{4, 4}, nil
		}, "layer encoder.0: conv2d kernel [9 9] (dilation [1 1]) is larger than the input [8 8] with padding [0 0 0 0]"},
		{"negative groups", func(c *Config, _ *TrainConfig) { c.Encoder[0].Groups = -1 }, "layer encoder.0: conv2d groups -1 must be in [0, 1048576]"},
		{"unknown layer", func(c *Config, _ *TrainConfig) { c.Encoder[1].Type = "swish" }, `layer encoder.1: trainer: unknown activation "swish"`},
		{"unknown init", func(c *Config, _ *TrainConfig) { c.Init = "zeros" }, `init "zeros" (want one of [pytorch xavier he by-activation])`},
		{"negative condition", func(c *Config, _ *TrainConfig) { c.Condition = -3 }, "condition -3 must be in [0, 2147483648]"},
		{"unknown loss", func(c *Config, _ *TrainConfig) { c.Loss = "l1" }, `unknown loss "l1"`},
		{"training epochs", func(_ *Config, tc *TrainConfig) { tc.Epochs = 0 }, "epochs 0 must be positive"},
		{"training weight decay", func(_ *Config, tc *TrainConfig) { tc.Optimizer.WeightDecay = -1 }, "weight decay -1 must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tc := TrainConfig{Optimizer: OptimizerConfig{Name: "adam", LR: 1e-3}, Epochs: 1, Batch: 8}
			tt.change(&c, &tc)
			path := filepath.Join(t.TempDir(), ConfigFile)
			b, _ := json.Marshal(File{Version: Version, Model: c, Training: &tc})
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadConfigFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want %q naming %s", err, tt.want, path)
			}
		})
	}
	t.Run("the good one", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ConfigFile)
		b, _ := json.Marshal(File{Version: Version, Model: good()})
		os.WriteFile(path, b, 0o644)
		if _, err := ReadConfigFile(path); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("data after the object", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ConfigFile)
		b, _ := json.Marshal(File{Version: Version, Model: good()})
		os.WriteFile(path, append(b, []byte(` {"more": 1}`)...), 0o644)
		if _, err := ReadConfigFile(path); err == nil || !strings.Contains(err.Error(), path+": data after the JSON object") {
			t.Errorf("got %v, want data after the JSON object", err)
		}
	})
}

// FuzzReadConfig reads config.json bytes as ReadConfigFile does and, when
// the description is accepted and small, builds it: an accepted
// description builds, and writes back to a description that reads the
// same. Errors name the file. Seeds: testdata/fuzz/FuzzReadConfig, the
// config.json files of tiny training runs (ae, tied, cvae, conv).
func FuzzReadConfig(f *testing.F) {
	b, _ := json.Marshal(File{Version: Version, Model: huge()})
	f.Add(b)
	gm, err := FromGraph(residualGraph(rand.New(rand.NewPCG(1, 2))), MSE)
	if err != nil {
		f.Fatal(err)
	}
	b, _ = json.Marshal(File{Version: Version, Model: gm.Config})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz/config.json"
		file, err := parseConfig(data, path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trainer: ") || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not start with trainer: or name %s", err, path)
			}
			return
		}
		var n int64
		if file.Model.Variant == GraphVariant {
			g, err := file.Model.graphOf(true)
			if err != nil {
				t.Fatalf("parseConfig accepted what Check refuses: %v", err)
			}
			for _, p := range g.Params {
				n += int64(product(p.Shape))
			}
		} else if _, n, err = build(file.Model, true); err != nil {
			t.Fatalf("parseConfig accepted what Check refuses: %v", err)
		}
		if n > 1<<20 { // Build only what is small; the check bounded the rest.
			return
		}
		m, err := Build(file.Model)
		if errors.Is(err, ErrGraphMismatch) {
			return // a recorded graph is compared with the recipe's only when built
		}
		if err != nil {
			t.Fatalf("Build refuses what parseConfig accepted: %v", err)
		}
		again, err := json.Marshal(File{Version: file.Version, Model: m.Config, Training: file.Training})
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseConfig(again, path)
		if err != nil {
			t.Fatalf("the written description does not read back: %v", err)
		}
		if file.Model.Graph == nil {
			back.Model.Graph = nil // Build records the recipe's graph
		}
		if !bytes.Equal(mustJSON(t, back.Model), mustJSON(t, file.Model)) {
			t.Errorf("read back %+v, want %+v", back.Model, file.Model)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
