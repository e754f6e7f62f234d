// Package renovate writes the Renovate configuration that keeps Renovate
// updating the image tags of Dockerfiles that pull from ECR through
// ecrbase's ARG-built registry host.
//
// Renovate's Dockerfile manager substitutes the defaults of the ARGs a file
// declares, then matches the image against registryAliases. A reference
// such as
//
//	${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7
//
// in a file with ARG AWS_REGION=us-east-1 reaches the alias table as
// ${AWS_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/python:3.7,
// so the alias key must hold the literal region and the unsubstituted
// account variable; any other key leaves a variable in the registry and
// Renovate skips the dependency as contains-variable.
package renovate
