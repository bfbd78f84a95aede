// Package pipeline scores data sets larger than one machine holds with an
// Apache Beam pipeline: .npy and CSV shards are read, batched and scored by
// reconstruction error with the pure-Go graph executor (package graph, the
// model read by package convert), so that the workers need no native
// library and build with CGO_ENABLED=0; scores and labels are written to
// sharded JSON-lines or CSV files, one line a row, keyed by the shard file
// and the row's index in it.
//
// The metric, the threshold and the input-scaling rule are those of
// aebridge score: the same definitions, repeated here because package
// runtime, which holds them, links ONNX Runtime through cgo.
package pipeline
