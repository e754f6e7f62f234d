module ecrbase/internal/hubproxy/cmd

go 1.26.8

require ecrbase v0.0.0

replace ecrbase => ../../../
