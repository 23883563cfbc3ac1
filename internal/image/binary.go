package image

import (
	"debug/elf"
	"fmt"
	"io"
)

// goarch maps ELF machines to Go architectures.
var goarch = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "386",
	elf.EM_ARM:     "arm",
	elf.EM_PPC64:   "ppc64le",
	elf.EM_S390:    "s390x",
	elf.EM_RISCV:   "riscv64",
}

// StaticBinaryArch returns the Go architecture of r, the content of the
// file named file, which must be a static Linux executable to run in an
// image without libc (skiff-agent, the debug support program). pkg is the
// Go package that builds it, for errors that say how.
func StaticBinaryArch(file string, r io.ReaderAt, pkg string) (string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", fmt.Errorf("%s is not a Linux executable (%v); build it for Linux: CGO_ENABLED=0 GOOS=linux go build %s", file, err, pkg)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked and would not run in images without libc; build it static: CGO_ENABLED=0 go build %s", file, pkg)
		}
	}
	arch, ok := goarch[f.Machine]
	if !ok {
		return "", fmt.Errorf("%s is for machine %s, which skiff does not know; build %s for the cluster's nodes with GOARCH", file, f.Machine, pkg)
	}
	return arch, nil
}
