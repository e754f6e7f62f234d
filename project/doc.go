// Package project is an application's Dockerfiles and compose files taken
// together: discovery, the ordered concurrent analysis and rewrite of each
// file, compose planning (a compose file's build: sections decide the build
// arguments of the Dockerfiles it builds, and bring in files the search did
// not find), and what the commands gather from the files: the images to
// mirror, the values docker build needs, the repository prefixes to
// replicate, and image catalogues; and the outcome of what a command does
// with them: rewrite --check's list and status, mirror --rewrite's plan,
// replication's configure-then-backfill.
//
// It imports rewrite and compose; the command line only prints what it
// returns.
//
// Layout:
//
//	each.go        Each: read, analyse (or rewrite) files on every core, visit them in order
//	compose.go     compose planning: compose files first, their builds' args and files
//	read.go        Read (a file or stdin), Discover, LinkNote and OneLine for messages
//	images.go      Images: the images to mirror from files, --image and catalogues
//	gather.go      Sources, Images.Gather (paths, --image, --images-from), MirrorPlan (region and pins)
//	check.go       Check: what rewrite --check lists, counts and concludes
//	catalog.go     ReadCatalog: an --images-from list, every bad line located
//	buildargs.go   BuildArgs: what docker build must be given for the files, its Gather, WriteBuildArgs
//	rewrite.go     Rewrite: the edit plan over analyses kept from discovery
//	replication.go ReplicationPrefixes: the repository prefixes ECR replicates; Replicate and backfill
package project
