module aviary.local/aviary

go 1.24
