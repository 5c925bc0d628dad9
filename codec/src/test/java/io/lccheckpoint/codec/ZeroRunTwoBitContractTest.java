package io.lccheckpoint.codec;

class ZeroRunTwoBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.zeroRun(2);
    }
}
