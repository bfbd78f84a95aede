package anomaly_test

import (
	"fmt"
	"log"

	"github.com/aebridge/aebridge/anomaly"
)

// Fit a threshold on scores of training data that is taken to hold 10%
// anomalies (PyOD's default contamination), then label new scores.
func ExampleDetector() {
	train := []float32{0.10, 0.12, 0.09, 0.11, 0.13, 0.10, 0.12, 0.08, 0.11, 0.40}
	var d anomaly.Detector // Contamination 0 means 0.1
	if err := d.Fit(train); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("threshold %.3f\n", d.Threshold())
	labels, err := d.Predict([]float32{0.10, 0.15, 0.50})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(labels)
	// Output:
	// threshold 0.157
	// [false false true]
}

// Fit on normal data only, allowing a false-positive rate of 20%: two of
// the ten fitting scores lie above the threshold.
func ExampleDetector_fpr() {
	normal := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	d := anomaly.Detector{FPR: 0.2}
	if err := d.Fit(normal); err != nil {
		log.Fatal(err)
	}
	fmt.Println("threshold", d.Threshold())
	// Output: threshold 8
}

// Measure scores against labels (true for an anomaly), ties counting one
// half, as scikit-learn does.
func ExampleROCAUC() {
	scores := []float32{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	auc, _ := anomaly.ROCAUC(scores, labels)
	ap, _ := anomaly.AveragePrecision(scores, labels)
	c, _ := anomaly.ConfusionAt(scores, labels, 0.375)
	fmt.Printf("ROC-AUC %.2f, average precision %.4f\n", auc, ap)
	fmt.Printf("TP %d FP %d TN %d FN %d\n", c.TP, c.FP, c.TN, c.FN)
	// Output:
	// ROC-AUC 0.75, average precision 0.8333
	// TP 1 FP 1 TN 1 FN 1
}
