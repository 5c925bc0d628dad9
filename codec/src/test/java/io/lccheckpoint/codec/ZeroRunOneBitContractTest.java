package io.lccheckpoint.codec;

class ZeroRunOneBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.zeroRun(1);
    }
}
