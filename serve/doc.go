// Package serve is an HTTP inference service for autoencoders: the Open
// Inference Protocol (KServe v2, as Triton and Seldon MLServer speak it)
// over REST, with autoencoder verbs on top, for models run by package
// runtime (ONNX Runtime, Load) or by the pure-Go graph backend
// (backend.Graph, LoadGo).
//
// A Server serves several models at once, each loaded once (Load) and
// shared by all requests:
//
//	GET  /v2/health/live, /v2/health/ready   liveness and readiness
//	GET  /v2                                 server metadata
//	GET  /v2/models                          the models served (an aebridge extension)
//	GET  /v2/models/{name}                   model metadata: inputs, outputs, dtypes, shapes
//	GET  /v2/models/{name}/ready             model readiness
//	POST /v2/models/{name}/infer             inference on JSON tensors, or the binary-tensor extension
//	POST /v2/models/{name}/score             anomaly scores, and labels against the calibrated threshold
//	POST /v2/models/{name}/encode            codes
//	POST /v2/models/{name}/decode            decoder output for codes
//	POST /v2/models/{name}/reconstruct       reconstructions
//	GET  /metrics                            Prometheus text format
//	GET  /                                   a page to look at the models
//
// The autoencoder verbs take {"shape": [...], "data": [...]} (data flat in
// row-major order, or nested), with "class" or "classes" for a
// conditional model and, for score, "metric" and "threshold"; or a .npy
// body (Content-Type application/x-npy), whose uint8 values follow the
// model's input-scaling rule as aebridge run applies it.
//
// Every error a request causes is a 4xx response with a JSON body
// {"error": "...", "field": "..."} naming the request field at fault (see
// RequestError); none is a 5xx. Outputs are written in the fewest digits
// that read back to the same float32, so a client gets the runtime's
// values bit for bit.
//
// With the go backend, /infer, /score and /reconstruct run the model's
// graph; /encode and /decode of a full model run encoder.onnx and
// decoder.onnx beside it, and answer 422 (ErrNoPart) when they are absent.
// The metadata's inputs and outputs are runtime.Inspect's either way.
//
// Concurrent small requests to a model may be gathered into one ONNX
// Runtime call (Options.MaxBatch, Options.MaxDelay) and the results split
// back; see batcher.
package serve
