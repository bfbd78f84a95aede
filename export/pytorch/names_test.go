package pytorch

import "testing"

func TestValidPathAndSanitize(t *testing.T) {
	tests := []struct {
		name     string
		valid    bool
		sanitize string
	}{
		{"encoder.0.weight", true, "encoder_0_weight"},
		{"fc1.bias", true, "fc1_bias"},
		{"weight", true, "weight"},
		{"/encoder/encoder.1/Constant_output_0", false, "encoder_encoder_1_Constant_output_0"},
		{"onnx::Add_3", false, "onnx_Add_3"},
		{"0.weight", false, "t_0_weight"},                     // a root child must be an attribute
		{"encoder.0", false, "encoder_0"},                     // a parameter's own name must be an identifier
		{"net.training.weight", false, "net_training_weight"}, // nn.Module's attribute
		{"lambda.weight", false, "lambda_weight"},             // a Python keyword
		{"a..b", false, "a_b"},
		{"_private.w", false, "private_w"},
		{"self", true, "t_self"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validPath(tt.name); got != tt.valid {
				t.Errorf("validPath: got %v, want %v", got, tt.valid)
			}
			if got := sanitize(tt.name); got != tt.sanitize {
				t.Errorf("sanitize: got %q, want %q", got, tt.sanitize)
			}
		})
	}
}
