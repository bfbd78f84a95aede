package trainer

import "testing"

// TestFLOPs checks the count against closed forms for the three benchmark
// workloads.
func TestFLOPs(t *testing.T) {
	mlp, _ := MLP{Variant: "ae", Input: 784, Hidden: []int{512, 256}, Latent: 32}.Config()
	vae, _ := MLP{Variant: "vae", Input: 784, Hidden: []int{400}, Latent: 20, Loss: BCE}.Config()
	conv, _ := ConvNet{Variant: "conv", Input: []int{1, 28, 28}, Channels: []int{16, 8, 8}, Kernel: 3, Loss: BCE}.Config()
	// The conv AE (Keras's example): encoder 1→16 at 28×28, 16→8 at 14×14,
	// 8→8 at 7×7; decoder 8→8 at 4×4, 8→8 at 8×8, 8→16 at 14×14 (valid,
	// from 16×16), 16→1 at 28×28; every kernel 3×3.
	convMACs := 9 * (28*28*16*1 + 14*14*8*16 + 7*7*8*8 + 4*4*8*8 + 8*8*8*8 + 14*14*16*8 + 28*28*1*16)
	for _, c := range []struct {
		name string
		cfg  Config
		want int64
	}{
		{"mlp", mlp, 2 * 2 * (784*512 + 512*256 + 256*32)},
		{"vae", vae, 2 * (784*400 + 2*400*20 + 20*400 + 400*784)},
		{"conv", conv, 2 * int64(convMACs)},
	} {
		m, err := Build(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.FLOPs(); got != c.want {
			t.Errorf("%s: %d FLOPs, want %d\n%v", c.name, got, c.want, m)
		}
	}
}
