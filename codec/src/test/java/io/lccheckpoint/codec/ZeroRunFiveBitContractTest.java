package io.lccheckpoint.codec;

class ZeroRunFiveBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.zeroRun(5);
    }
}
