package io.lccheckpoint.codec;

class HuffmanThreeBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.paper(3);
    }
}
