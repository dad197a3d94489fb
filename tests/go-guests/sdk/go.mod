module aviary.local/tests/go-guests/sdk

go 1.24

require aviary.local/aviary v0.0.0

replace aviary.local/aviary => ../../../guest-sdk/go
