// Copyright EMPI developers.
// Placeholder: implementation in progress.
