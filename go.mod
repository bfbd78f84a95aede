module github.com/aebridge/aebridge

go 1.26.8

require google.golang.org/protobuf v1.36.12

require github.com/yalue/onnxruntime_go v1.36.0 // indirect
