package io.lccheckpoint.codec;

class ExponentOnlyContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.exponentOnly();
    }
}
