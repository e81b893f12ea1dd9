// Package guardeval re-measures the guards of package guard with the real
// models on real photos: the adversarial-input guard's false refusals on
// natural faces and their degraded variants and its detection of crafted
// attacks, the extraction guard's flags on benign app traffic and on a
// T-RND attack, and the sensitive-content rule's false labels. Its tests
// run in make test on the photos the repository pins and on two
// public-domain portraits it carries (testdata/portraits); pointed at a folder
// (OBSCURA_GUARD_CALIB), the calibration test measures a larger set.
//
// It lives apart from guard so that guard itself imports no model.
package guardeval
