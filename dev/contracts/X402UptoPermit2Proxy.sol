// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * The x402 `upto` settlement proxy for the local dev chain, written for this project against the
 * ABI that `@x402/evm` publishes as `x402UptoPermit2ProxyABI` (the upstream contract's source and
 * bytecode are not distributed in any package). The dev stack places its runtime code at the
 * address the official client signs for as Permit2 spender, 0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002.
 *
 * The payer signs a Permit2 `PermitWitnessTransferFrom` for at most `permit.permitted.amount`,
 * with this proxy as spender and a witness naming the payee (`to`), the one facilitator allowed to
 * settle (`facilitator`) and the earliest settlement time (`validAfter`). The facilitator later
 * settles the amount actually used, anything up to that maximum, to the witnessed payee. Permit2
 * checks the signature, the deadline and the nonce (each permit settles once) and moves the tokens.
 *
 * Nothing here reads address(this): the runtime code works wherever it is placed.
 */

/// The part of Uniswap's Permit2 (SignatureTransfer) this proxy calls.
interface ISignatureTransfer {
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    function permitWitnessTransferFrom(
        PermitTransferFrom memory permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external;
}

/// EIP-2612 `permit`, used by `settleWithPermit` to approve Permit2 in the same transaction.
interface IERC20Permit {
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;
}

contract x402UptoPermit2Proxy {
    /// What the payer's signature binds besides the permit: payee, settling facilitator, start time.
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    /// An EIP-2612 approval of Permit2, signed by the payer (the gas-sponsoring extension).
    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    /// keccak256 of the witness struct's EIP-712 type.
    bytes32 public constant WITNESS_TYPEHASH =
        keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    /// The tail Permit2 appends to "PermitWitnessTransferFrom(TokenPermissions permitted,address
    /// spender,uint256 nonce,uint256 deadline," to hash the full type: the witness member, then
    /// the referenced types in alphabetical order (TokenPermissions < Witness), as EIP-712 orders them.
    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";

    /// Permit2, fixed at construction.
    ISignatureTransfer public immutable PERMIT2;

    /// Set for the duration of a settlement (EIP-1153 transient storage).
    bool private transient entered;

    event Settled();
    event SettledWithPermit();

    error AmountExceedsPermitted();
    error InvalidDestination();
    error InvalidOwner();
    error InvalidPermit2Address();
    error PaymentTooEarly();
    error Permit2612AmountMismatch();
    error ReentrancyGuardReentrantCall();
    error UnauthorizedFacilitator();

    constructor(address permit2) {
        if (permit2 == address(0)) revert InvalidPermit2Address();
        PERMIT2 = ISignatureTransfer(permit2);
    }

    modifier nonReentrant() {
        if (entered) revert ReentrancyGuardReentrantCall();
        entered = true;
        _;
        entered = false;
    }

    /**
     * Transfers `amount` (at most the permitted maximum) of the permitted token from `owner` to
     * `witness.to`. Only `witness.facilitator` may call it, not before `witness.validAfter`.
     */
    function settle(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        _settle(permit, amount, owner, witness, signature);
        emit Settled();
    }

    /**
     * As `settle`, after first trying the payer's EIP-2612 approval of Permit2 for exactly the
     * permitted maximum. A failing `permit` call is ignored (the approval may already exist, or
     * the signature may have been used by someone else); the transfer then decides.
     */
    function settleWithPermit(
        EIP2612Permit calldata permit2612,
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external nonReentrant {
        if (permit2612.value != permit.permitted.amount) revert Permit2612AmountMismatch();
        _checkCaller(witness);
        try
            IERC20Permit(permit.permitted.token).permit(
                owner,
                address(PERMIT2),
                permit2612.value,
                permit2612.deadline,
                permit2612.v,
                permit2612.r,
                permit2612.s
            )
        {} catch {}
        _settle(permit, amount, owner, witness, signature);
        emit SettledWithPermit();
    }

    function _checkCaller(Witness calldata witness) private view {
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
    }

    function _settle(
        ISignatureTransfer.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) private {
        _checkCaller(witness);
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (owner == address(0)) revert InvalidOwner();
        if (witness.to == address(0)) revert InvalidDestination();
        if (block.timestamp < witness.validAfter) revert PaymentTooEarly();

        bytes32 witnessHash = keccak256(
            abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter)
        );
        PERMIT2.permitWitnessTransferFrom(
            permit,
            ISignatureTransfer.SignatureTransferDetails({to: witness.to, requestedAmount: amount}),
            owner,
            witnessHash,
            WITNESS_TYPE_STRING,
            signature
        );
    }
}
